/* Charts of the monitoring pages, drawn with the vendored Apache ECharts from the API's JSON.
   Nothing here decides a status, a threshold or a colour: statuses, labels and colours come from
   /api/v1/status-scale (the domain's one scale), figures from the element's data-source.  Every
   chart has its numbers in a table beside it. */
(function () {
  "use strict";
  if (!window.echarts) { return; }
  var cache = {};
  function load(url) {
    if (!cache[url]) {
      cache[url] = fetch(url, {credentials: "same-origin", headers: {"Accept": "application/json"}})
        .then(function (r) { if (!r.ok) { throw new Error(r.status); } return r.json(); });
    }
    return cache[url];
  }
  var SCALE = "/api/v1/status-scale";

  function colours(scale) {
    var tones = {};
    scale.tones.forEach(function (t) { tones[t.code] = t.background; });
    var byStatus = {};
    scale.statuses.forEach(function (s) { byStatus[s.code] = {label: s.label, colour: tones[s.tone], project: s.project}; });
    return byStatus;
  }
  function num(v) { return v === null || v === undefined ? null : Number(v); }
  // People who ask their system for less motion get charts drawn at once, without ECharts' growing bars.
  var still = window.matchMedia && window.matchMedia("(prefers-reduced-motion: reduce)").matches;
  var base = {
    animation: !still,
    textStyle: {fontFamily: "inherit"},
    grid: {left: 8, right: 16, top: 36, bottom: 8, containLabel: true},
    tooltip: {trigger: "axis", confine: true},
    legend: {top: 0, type: "scroll"}
  };
  function merged(extra) { return Object.assign({}, base, extra); }

  var builders = {
    "division-execution": function (data) {
      var names = data.divisions.map(function (d) { return d.division; });
      return merged({
        xAxis: {type: "category", data: names, axisLabel: {interval: 0, rotate: names.length > 5 ? 30 : 0}},
        yAxis: {type: "value", axisLabel: {formatter: "{value}%"}},
        series: [
          {name: "执行率", type: "bar", data: data.divisions.map(function (d) { return num(d.execution_rate); }),
           itemStyle: {color: "#1d4e89"}, label: {show: true, position: "top", formatter: "{c}%"}},
          {name: "序时进度", type: "line", data: data.divisions.map(function (d) { return num(d.expected_rate); }),
           itemStyle: {color: "#111111"}, lineStyle: {type: "dashed"}, symbol: "diamond", symbolSize: 9}
        ]
      });
    },
    "division-status": function (data, status) {
      var names = data.divisions.map(function (d) { return d.division; });
      var codes = Object.keys(status).filter(function (c) { return status[c].project; });
      return merged({
        xAxis: {type: "category", data: names, axisLabel: {interval: 0, rotate: names.length > 5 ? 30 : 0}},
        yAxis: {type: "value", minInterval: 1, name: "项目数"},
        series: codes.map(function (c) {
          return {name: status[c].label, type: "bar", stack: "projects", itemStyle: {color: status[c].colour},
                  data: data.divisions.map(function (d) { return d.project_statuses[c] || 0; })};
        })
      });
    },
    "trend": function (data, status) {
      var days = data.trend.map(function (t) { return t.as_of; });
      var codes = Object.keys(status).filter(function (c) { return status[c].project; });
      return merged({
        xAxis: {type: "category", data: days, boundaryGap: false},
        yAxis: {type: "value", minInterval: 1, name: "项目数"},
        series: codes.map(function (c) {
          return {name: status[c].label, type: "line", stack: "projects", areaStyle: {}, symbol: "none",
                  itemStyle: {color: status[c].colour}, lineStyle: {width: 1},
                  data: data.trend.map(function (t) { return t.project_statuses[c] || 0; })};
        })
      });
    },
    "indicator-history": function (project, status, el) {
      var data = project.indicators.filter(function (i) { return i.indicator === el.dataset.indicator; })[0];
      return merged({
        xAxis: {type: "category", data: data.quarters.map(function (q) { return q.period; })},
        yAxis: {type: "value", name: data.unit || ""},
        series: [
          {name: "实际完成值", type: "bar", itemStyle: {color: "#1d4e89"},
           data: data.quarters.map(function (q) { return num(q.value); })},
          {name: "序时目标", type: "line", itemStyle: {color: "#111111"}, lineStyle: {type: "dashed"},
           data: data.quarters.map(function (q) { return num(q.expected); })}
        ]
      });
    },
    "project-spend": function (data) {
      return merged({
        xAxis: {type: "category", data: data.spend.map(function (q) { return q.period; })},
        yAxis: {type: "value", axisLabel: {formatter: "{value}%"}},
        series: [
          {name: "执行率", type: "bar", itemStyle: {color: "#1d4e89"},
           data: data.spend.map(function (q) { return num(q.execution_rate); })},
          {name: "序时进度", type: "line", itemStyle: {color: "#111111"}, lineStyle: {type: "dashed"},
           data: data.spend.map(function (q) { return num(q.expected_rate); })}
        ]
      });
    }
  };

  document.querySelectorAll("[data-chart]").forEach(function (el) {
    var build = builders[el.dataset.chart];
    if (!build) { return; }
    Promise.all([load(el.dataset.source), load(SCALE)]).then(function (both) {
      var chart = window.echarts.init(el, null, {renderer: "canvas"});
      chart.setOption(build(both[0], colours(both[1]), el));
      window.addEventListener("resize", function () { chart.resize(); });
      el.dataset.drawn = "1";
    }).catch(function () { el.textContent = "图表数据暂时无法加载，请查看下方数据表。"; });
  });
})();

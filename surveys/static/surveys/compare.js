// The thank-you page's comparison: the respondent's own answers (in this page only) beside the
// published results. It fetches the public tables (the same for everyone, from this site) and
// compares here, in the browser; nothing of the respondent's is sent anywhere.
(function () {
  "use strict";

  function fill(template, values) {
    return template.replace(/\{(\w+)\}/g, function (whole, name) {
      return Object.prototype.hasOwnProperty.call(values, name) ? values[name] : whole;
    });
  }

  function percent(value) {
    return value.toFixed(1) + "%";
  }

  // The code a public table counts for this answer, as the statistics' variables read answers:
  // a choice code, "1"/"0" for yes/no and for each option of a multiple choice, a matrix row's
  // choice. Null when the respondent did not answer.
  function codeOf(answers, source) {
    if (!source || !Object.prototype.hasOwnProperty.call(answers, source.question)) {
      return null;
    }
    var answer = answers[source.question];
    if (answer === null || answer === undefined || answer === "") {
      return null;
    }
    if (source.choice) {
      return Array.isArray(answer) ? (answer.indexOf(source.choice) >= 0 ? "1" : "0") : null;
    }
    if (source.row) {
      var value = typeof answer === "object" ? answer[source.row] : null;
      return value === null || value === undefined || value === "" ? null : String(value);
    }
    if (source.boolean) {
      return answer ? "1" : "0";
    }
    return typeof answer === "object" ? null : String(answer);
  }

  function shareSentence(cell, texts) {
    if (cell.suppressed || cell.percent === null) {
      return texts.suppressed;
    }
    if (cell.ci_low === null || cell.ci_high === null) {
      return fill(texts.sharePlain, { share: percent(cell.percent) });
    }
    return fill(texts.share, {
      share: percent(cell.percent),
      low: percent(cell.ci_low),
      high: percent(cell.ci_high),
    });
  }

  function frequencyItem(table, answers, texts) {
    var code = codeOf(answers, table.source);
    if (code === null) {
      return null;
    }
    var cells = table.statistics.table.cells;
    for (var i = 0; i < cells.length; i++) {
      if (String(cells[i].code) === code) {
        return [
          table.statistics.variable.label,
          fill(texts.answer, { answer: cells[i].label }) + texts.space + shareSentence(cells[i], texts),
        ];
      }
    }
    return null;
  }

  function crosstabItem(table, answers, texts) {
    var column = codeOf(answers, table.source);
    var row = codeOf(answers, table.by_source);
    if (column === null || row === null) {
      return null;
    }
    var lines = table.statistics.table.cells;
    for (var i = 0; i < lines.length; i++) {
      for (var j = 0; j < lines[i].length; j++) {
        var cell = lines[i][j];
        if (String(cell.row) === row && String(cell.col) === column) {
          var said = cell.suppressed || cell.percent === null
            ? texts.suppressed
            : fill(texts.group, {
                group: cell.row_label,
                share: percent(cell.percent),
                answer: cell.col_label,
              });
          var title = table.statistics.variable.label + " / " + table.statistics.by.label;
          return [title, said];
        }
      }
    }
    return null;
  }

  function show(container, items, texts) {
    if (items.length === 0) {
      var none = document.createElement("p");
      none.textContent = texts.none;
      container.appendChild(none);
      return;
    }
    var list = document.createElement("ul");
    items.forEach(function (item) {
      var entry = document.createElement("li");
      var heading = document.createElement("strong");
      heading.textContent = item[0];
      entry.appendChild(heading);
      entry.appendChild(document.createElement("br"));
      entry.appendChild(document.createTextNode(item[1]));
      list.appendChild(entry);
    });
    container.appendChild(list);
  }

  function start() {
    var section = document.getElementById("compare");
    var mine = document.getElementById("my-answers");
    var container = document.getElementById("compare-results");
    if (!section || !mine || !container || !window.fetch) {
      return;
    }
    var answers = JSON.parse(mine.textContent || "{}");
    var texts = {
      answer: section.dataset.tAnswer,
      share: section.dataset.tShare,
      sharePlain: section.dataset.tSharePlain,
      group: section.dataset.tGroup,
      suppressed: section.dataset.tSuppressed,
      failed: section.dataset.tFailed,
      none: section.dataset.tNone,
      // Chinese sentences follow each other without a space.
      space: /^zh/i.test(document.documentElement.lang) ? "" : " ",
    };
    // A plain GET of the public tables: no query of the respondent's, no cookie needed.
    fetch(section.dataset.source, { credentials: "omit", headers: { Accept: "application/json" } })
      .then(function (answer) {
        if (!answer.ok) {
          throw new Error(String(answer.status));
        }
        return answer.json();
      })
      .then(function (data) {
        var items = [];
        data.tables.forEach(function (table) {
          var kind = table.statistics.table.kind;
          var item = kind === "crosstab"
            ? crosstabItem(table, answers, texts)
            : frequencyItem(table, answers, texts);
          if (item) {
            items.push(item);
          }
        });
        show(container, items, texts);
      })
      .catch(function () {
        var failed = document.createElement("p");
        failed.textContent = texts.failed;
        container.appendChild(failed);
      });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();

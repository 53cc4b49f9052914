"""An R script and a Stata do-file that read the bundle's CSV files with the types, labels
and factor levels of the data dictionary, turning the missing-data codes into R's NA (with
a factor saying why) and Stata's extended missing values."""

import json
from collections.abc import Sequence

from .variables import MISSING, Variable


def _r(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)


def r_script(tables: Sequence[tuple[str, str, Sequence[Variable]]], *, header: str) -> str:
    codes = ", ".join(str(m.code) for m in MISSING.values())
    labels = ", ".join(_r(m.label) for m in MISSING.values())
    lines = [
        f"# {header}",
        "# Reads every CSV file of the bundle into the list `trial`, one data frame per file.",
        '# Run it from the folder the bundle was unzipped into: source("analysis.R")',
        f"missing_codes <- c({codes})",
        f"missing_labels <- c({labels})",
        "",
        "read_table <- function(file, text, labels, factors) {",
        '  d <- read.csv(file, colClasses = "character", na.strings = "", check.names = FALSE,',
        '                encoding = "UTF-8")',
        "  for (v in names(d)) {",
        "    if (!(v %in% text)) {",
        "      x <- as.numeric(d[[v]])",
        "      why <- ifelse(x %in% missing_codes, x, NA)",
        "      if (any(!is.na(why))) {",
        '        d[[paste0(v, "_missing")]] <- factor(why, levels = missing_codes,',
        "                                              labels = missing_labels)",
        "      }",
        "      x[x %in% missing_codes] <- NA",
        "      d[[v]] <- x",
        "    }",
        "    f <- factors[[v]]",
        "    if (!is.null(f)) d[[v]] <- factor(d[[v]], levels = f$levels, labels = f$labels)",
        '    attr(d[[v]], "label") <- labels[[v]]',
        "  }",
        "  d",
        "}",
        "",
        "trial <- list()",
    ]
    for file, _, variables in tables:
        text = ", ".join(_r(v.name) for v in variables if not v.numeric)
        named = ",\n    ".join(f"{_r(v.name)} = {_r(v.label)}" for v in variables)
        factors = ",\n    ".join(
            f"{_r(v.name)} = list(levels = c({', '.join(str(c) for c, _, _ in v.codes)}), "
            f"labels = c({', '.join(_r(label) for _, _, label in v.codes)}))"
            for v in variables
            if v.codes
        )
        lines += [
            f"trial[[{_r(file)}]] <- read_table(",
            f"  {_r(file + '.csv')},",
            f"  text = c({text}),",
            f"  labels = list(\n    {named}\n  ),",
            f"  factors = list({chr(10) + '    ' + factors + chr(10) + '  ' if factors else ''})",
            ")",
        ]
    lines.append("")
    return "\n".join(lines)


def _stata(text: str, limit: int = 80) -> str:
    """A Stata compound-quoted string, cut to Stata's label length."""
    return '`"' + text[:limit].replace("\n", " ") + "\"'"


def stata_do_file(tables: Sequence[tuple[str, str, Sequence[Variable]]], *, header: str) -> str:
    lines = [
        f"* {header}",
        "* Reads every CSV file of the bundle and saves it as <file>_from_csv.dta, with variable",
        "* labels, value labels and the missing-data codes as extended missing values.",
        "* Run it from the folder the bundle was unzipped into: do analysis.do",
        "version 15",
        "clear all",
        "set more off",
    ]
    number = 0
    for file, title, variables in tables:
        strings = " ".join(str(n) for n, v in enumerate(variables, start=1) if not v.numeric)
        lines += [
            "",
            f"* {title}",
            f'import delimited using "{file}.csv", varnames(1) case(preserve) '
            f'encoding("utf-8") stringcols({strings}) asdouble clear',
            f"label data {_stata(f'{title}: {header}')}",
        ]
        for v in variables:
            lines.append(f"label variable {v.name} {_stata(v.label)}")
        for v in variables:
            if v.numeric and v.missing:
                for m in v.missing:
                    code = MISSING[m]
                    lines.append(f"replace {v.name} = .{code.stata} if {v.name} == {code.code}")
        for v in variables:
            if v.codes:
                number += 1
                pairs = " ".join(f"{code} {_stata(label, 32000)}" for code, _, label in v.codes)
                lines.append(f"label define l{number} {pairs}, replace")
                lines.append(f"label values {v.name} l{number}")
        lines.append(f'save "{file}_from_csv.dta", replace')
    lines.append("")
    return "\n".join(lines)

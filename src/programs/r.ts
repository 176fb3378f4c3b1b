/**
 * R: `options(prompt=)` carries the end marker, set anew by each cell with its status
 * (`options(continue=)` the continuation marker). A cell is one typed line, `.k('<cell id>')`,
 * which prints the start marker and evaluates the code from a private file expression by
 * expression in the global environment, printing visible values as the REPL does, stopping at
 * the first error, which it prints as the REPL would (`Error in f() : …`) and whose class it
 * reports. History goes to the session's file (`R_HISTFILE`).
 * @module
 */

import { continuationMarker, startMarker } from "../markers.ts";
import { CLEAR_LINE, type ProgramProfile, type ScriptFiles } from "./profile.ts";
import { escapedString, promptEndMarker } from "./readline.ts";

function script(nonce: string, files: ScriptFiles): string {
  const hidden = (s: string) => `"\\001${escapedString(s)}\\002"`;
  return `# ktty integration for R (session nonce inside; do not share)
local({
  cells <- "${escapedString(files.cells)}"
  state <- new.env()
  state$ec <- 0L
  state$err <- ""
  prompt <- getOption("prompt")
  more <- getOption("continue")
  mark <- function() {
    end <- if (nzchar(state$err)) {
      sprintf(${hidden(promptEndMarker("%d", nonce, "%s"))}, state$ec, state$err)
    } else {
      sprintf(${hidden(promptEndMarker("%d", nonce))}, state$ec)
    }
    options(prompt = paste0(end, prompt), continue = paste0(${
    hidden(continuationMarker(nonce))
  }, more))
  }
  report <- function(e, kind) {
    call <- conditionCall(e)
    where <- if (is.null(call) || identical(call[[1]], quote(eval))) "" else
      paste0(" in ", deparse(call, nlines = 1L), " ")
    cat("Error", where, ": ", conditionMessage(e), "\\n", sep = "", file = stderr())
    state$ec <- 1L
    state$err <- kind
  }
  .k <<- function(id) {
    path <- file.path(cells, paste0(id, ".R"))
    src <- readLines(path, warn = FALSE, encoding = "UTF-8")
    unlink(path)
    state$ec <- 0L
    state$err <- ""
    on.exit(mark())
    cat("${escapedString(startMarker(nonce))}")
    exprs <- tryCatch(parse(text = src, keep.source = FALSE), error = function(e) e)
    if (inherits(exprs, "error")) return(invisible(report(exprs, "syntax")))
    for (ex in exprs) {
      ok <- tryCatch({
        r <- withVisible(eval(ex, globalenv()))
        if (r$visible) {
          if (isS4(r$value)) methods::show(r$value) else print(r$value)
        }
        TRUE
      }, error = function(e) {
        report(e, class(e)[[1]])
        FALSE
      })
      if (!ok) break
    }
    invisible()
  }
  mark()
})
`;
}

/** R. */
export const r: ProgramProfile = {
  kind: "r",
  names: /^R$/,
  bracketedPaste: true,
  quotedInsert: true,
  // R reads its history file before any integration is loaded.
  environment: (files) => ({ R_HISTFILE: files.history }),
  drain: CLEAR_LINE,
  integration: {
    file: "integration.R",
    script,
    installLine: (path) => `source("${escapedString(path)}")`,
    typeCell: (code, cell) => ({
      lines: [`.k('${cell.cellId}')`],
      codeFile: { path: `${cell.cellsDir}/${cell.cellId}.R`, content: code },
    }),
  },
};

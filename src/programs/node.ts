/**
 * node's REPL: cells go through its own `.editor` mode (ended with Ctrl-D), so the REPL evaluates
 * them as one input (top-level `await`, declarations that persist, values shown as it shows
 * them). Its eval is wrapped to print the start marker; its prompt carries the end marker.
 * @module
 */

import { endMarker, startMarker } from "../markers.ts";
import { codeLines, type ProgramProfile } from "./profile.ts";

function script(nonce: string): string {
  return `// ktty integration for the Node.js REPL (session nonce inside; do not share)
// Cells arrive through the REPL's .editor mode, so the REPL itself evaluates them (top-level
// await, declarations that persist, value display); its eval is wrapped to mark the start, and
// the prompt carries the end marker with the status.
"use strict";
const server = require("node:repl").repl;
if (server && !server.__kttyInstalled) {
  server.__kttyInstalled = true;
  const nonce = ${JSON.stringify(nonce)};
  const basePrompt = server.getPrompt();
  let status = 0;
  let error = "";
  const setPrompt = () => {
    const type = String(error).replace(/[^A-Za-z0-9_.]/g, "_");
    const mark = error ? ${JSON.stringify(endMarker("%d", nonce, "%e"))}.replace("%e", type)
      : ${JSON.stringify(endMarker("%d", nonce))};
    server.setPrompt(mark.replace("%d", status) + basePrompt);
  };
  const fail = (e) => {
    status = 1;
    error = (e && e.name) || "Error";
    setPrompt();
  };
  const evaluate = server.eval;
  server.eval = function (code, context, file, cb) {
    process.stdout.write(${JSON.stringify(startMarker(nonce))});
    status = 0;
    error = "";
    setPrompt();
    return evaluate.call(this, code, context, file, (err, value) => {
      if (err) fail(err);
      cb(err, value);
    });
  };
  if (server._domain) server._domain.prependListener("error", fail);
  server.ignoreUndefined = true;
  setPrompt();
}
`;
}

/** node, nodejs. */
export const node: ProgramProfile = {
  kind: "node",
  names: /^(node|nodejs)$/,
  bracketedPaste: false,
  quotedInsert: false,
  // The REPL reads its history file when it starts, before the integration is loaded.
  environment: (files) => ({ NODE_REPL_HISTORY: files.history }),
  // node's own readline: Ctrl-U deletes to the start of the line and rings no bell. (It redraws
  // the prompt, end marker included: before the cell's code, which such a marker cannot end.)
  drain: { keys: ["C-u"] },
  integration: {
    file: "integration.cjs",
    script,
    installLine: (path) => `require(${JSON.stringify(path)})`,
    typeCell: (code) => ({ lines: [".editor", ...codeLines(code)], keys: ["C-d"] }),
  },
};

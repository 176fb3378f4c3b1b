/**
 * Lua's REPL (5.2 and later): `_PROMPT` becomes a table whose `__tostring` computes the end
 * marker with the last cell's status each time the prompt is shown (`_PROMPT2` carries the
 * continuation marker). A cell is one typed line, `__k('<cell id>')`, which prints the start
 * marker and runs the code from a private file as the REPL would (an expression's values are
 * printed; else it runs as a chunk; globals persist), its errors with their traceback. Lua keeps
 * no history file.
 * @module
 */

import { continuationMarker, startMarker } from "../markers.ts";
import { CLEAR_LINE, type ProgramProfile, type ScriptFiles } from "./profile.ts";
import { escapedString, promptEndMarker } from "./readline.ts";

function script(nonce: string, files: ScriptFiles): string {
  const hidden = (s: string) => `"\\001${escapedString(s)}\\002"`;
  return `-- ktty integration for the Lua REPL (session nonce inside; do not share)
local cells = "${escapedString(files.cells)}"
local state = { ec = 0, err = nil }
local function mark()
  if state.err then
    return (${hidden(promptEndMarker("%d", nonce, "%s"))}):format(state.ec, state.err)
  end
  return (${hidden(promptEndMarker("%d", nonce))}):format(state.ec)
end
local prompt = tostring(_PROMPT or "> ")
local prompt2 = tostring(_PROMPT2 or ">> ")
_PROMPT = setmetatable({}, { __tostring = function() return mark() .. prompt end })
_PROMPT2 = setmetatable({}, {
  __tostring = function() return ${hidden(continuationMarker(nonce))} .. prompt2 end,
})
local function fail(kind, message)
  state.ec, state.err = 1, kind
  io.stdout:flush()
  io.stderr:write(tostring(message), "\\n")
  io.stderr:flush()
end
function __k(id)
  local path = cells .. "/" .. id .. ".lua"
  local f = assert(io.open(path, "rb"))
  local src = f:read("a")
  f:close()
  os.remove(path)
  state.ec, state.err = 0, nil
  io.write("${escapedString(startMarker(nonce))}")
  io.flush()
  local fn, err = load("return " .. src, "=stdin", "t")
  if not fn then fn, err = load(src, "=stdin", "t") end
  if not fn then return fail("syntax", err) end
  local res = table.pack(xpcall(fn, function(m)
    -- The traceback stops where the cell was called.
    return (debug.traceback(tostring(m), 2):gsub("\\n[^\\n]*in function 'xpcall'.*$", ""))
  end))
  io.stdout:flush()
  if not res[1] then return fail("runtime", res[2]) end
  if res.n > 1 then print(table.unpack(res, 2, res.n)) end
end
`;
}

/** lua, lua5.2 to lua5.4. */
export const lua: ProgramProfile = {
  kind: "lua",
  names: /^lua(5\.[234])?$/,
  bracketedPaste: true,
  quotedInsert: true,
  drain: CLEAR_LINE,
  integration: {
    file: "integration.lua",
    script,
    installLine: (path) => `dofile("${escapedString(path)}")`,
    typeCell: (code, cell) => ({
      lines: [`__k('${cell.cellId}')`],
      codeFile: { path: `${cell.cellsDir}/${cell.cellId}.lua`, content: code },
    }),
  },
};

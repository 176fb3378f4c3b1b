/**
 * irb: the prompt (`PROMPT_I` of the context) carries the end marker, set anew by each cell with
 * its status. A cell is one typed line, `__k('<cell id>')`, which prints the start marker, evaluates
 * the code from a private file in irb's workspace (one input, whatever its lines), shows the value
 * as irb does (`=> …`; nothing for an empty cell) and an exception as irb does, and reports its
 * class. irb's own echo is off (the runner shows values); history goes to the session's file.
 * @module
 */

import { startMarker } from "../markers.ts";
import { CLEAR_LINE, type ProgramProfile, type ScriptFiles } from "./profile.ts";
import { escapedString, promptEndMarker } from "./readline.ts";

function script(nonce: string, files: ScriptFiles): string {
  const hidden = (s: string) => `"\\x01${escapedString(s)}\\x02"`;
  return `# ktty integration for irb (session nonce inside; do not share)
module KttyIrb
  CELLS = "${escapedString(files.cells)}"
  @ctx = IRB.CurrentContext
  @base = @ctx.prompt_i
  @ctx.echo = false
  IRB.conf[:HISTORY_FILE] = "${escapedString(files.history)}"
  def self.mark(ec, err)
    end_mark = err ? format(${hidden(promptEndMarker("%d", nonce, "%s"))}, ec, err) :
      format(${hidden(promptEndMarker("%d", nonce))}, ec)
    @ctx.prompt_i = end_mark + @base
  end
  def self.run(id)
    path = File.join(CELLS, "#{id}.rb")
    src = File.read(path, encoding: "UTF-8")
    File.delete(path) rescue nil
    ec, err = 0, nil
    $stdout.write("${escapedString(startMarker(nonce))}")
    $stdout.flush
    begin
      value = eval(src, @ctx.workspace.binding, "(irb)", 1)
      puts "=> #{value.inspect}" unless src.gsub(/^\s*#.*$/, "").strip.empty?
    rescue SystemExit
      raise
    rescue Exception => e
      ec, err = 1, e.class.name
      own = (e.backtrace || []).take_while { |l| l.start_with?("(irb)") }
      $stdout.flush
      $stderr.puts "#{own[0] || "(irb)"}: #{e.message} (#{e.class})"
      own.drop(1).each { |l| $stderr.puts "\\tfrom #{l}" }
    ensure
      $stdout.flush
      $stderr.flush
      mark(ec, err)
    end
    nil
  end
  mark(0, nil)
end
def __k(id)
  KttyIrb.run(id)
end
`;
}

/** irb. */
export const irb: ProgramProfile = {
  kind: "irb",
  names: /^irb[0-9.]*$/,
  bracketedPaste: false,
  quotedInsert: false,
  drain: CLEAR_LINE,
  integration: {
    file: "integration.irb.rb",
    script,
    installLine: (path) => `load "${escapedString(path)}"`,
    typeCell: (code, cell) => ({
      lines: [`__k('${cell.cellId}')`],
      codeFile: { path: `${cell.cellsDir}/${cell.cellId}.rb`, content: code },
    }),
  },
};

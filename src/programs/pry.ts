/**
 * pry: the prompt carries the end marker, with the status of the last cell. The script is pry's rc
 * file (`PRYRC`), so it acts before pry reads its first line: pry dropped what was typed before it
 * read (the loader's line; were it read, it would load nothing twice), and it appends each line it
 * reads to its history file at once, so the session's history file must be set before that. The
 * user's own rc file is loaded first from it; each session's prompt (theirs, a local `.pryrc`'s) is
 * wrapped as the session starts. A cell is one typed
 * line, `__k('<cell id>');`, which prints the start marker, evaluates the code from a private file
 * in pry's current binding (one input, whatever its lines; `cd` into an object is honoured), shows
 * the value as `=> …` (nothing for an empty cell) and an exception through pry's own handler, and
 * reports its class; a one-line cell that is a pry command (`ls`, `cd`, `whereami`) runs as typed.
 * The `;` keeps pry from echoing the call's own value; `_` and `_ex_` stay pry's. A `binding.pry`
 * a cell reaches starts a nested session: its prompt ends the cell with `in=pry`, the held file
 * (`python_debugger.ts`'s) names it while it reads the cells, and `exit` returns to the call.
 * @module
 */

import { endMarker, startMarker } from "../markers.ts";
import { PASTE_ON } from "../text.ts";
import { CLEAR_LINE, type ProgramProfile, type ScriptFiles } from "./profile.ts";
import { nestedFile } from "./python_debugger.ts";
import { escapedString, promptEndMarker } from "./readline.ts";

/** The name a pry nested in the session's (a cell's `binding.pry`) gives in markers and status. */
const NESTED = "pry";

/** The script's file name in the session directory (also pry's rc file: see `environment`). */
const FILE = "integration.pry.rb";

function script(nonce: string, files: ScriptFiles): string {
  const hidden = (s: string) => `"\\x01${escapedString(s)}\\x02"`;
  return `# ktty integration for pry (session nonce inside; do not share)
unless defined?(KttyPry)
  # Loaded as pry's rc file (PRYRC): the user's own rc first, as pry would have loaded it.
  xdg = ENV["XDG_CONFIG_HOME"].to_s
  user_rc = [xdg.empty? ? nil : File.join(xdg, "pry/pryrc"), "~/.pryrc", "~/.config/pry/pryrc"]
    .compact.map { |f| File.expand_path(f) }.find { |f| File.file?(f) }
  Pry.load_file_at_toplevel(user_rc) if user_rc && Pry.config.should_load_rc
  module KttyPry
    CELLS = "${escapedString(files.cells)}"
    @end_mark = ""
    class << self
      attr_accessor :pry
    end
    HELD = "${escapedString(nestedFile(files.dir))}"
    MARKS = {
      [false, false] => ${hidden(promptEndMarker("%d", nonce))},
      [false, true] => ${hidden(promptEndMarker("%d", nonce, "%s"))},
      [true, false] => ${hidden(endMarker("%d", nonce, undefined, NESTED) + PASTE_ON)},
      [true, true] => ${hidden(endMarker("%d", nonce, "%s", NESTED) + PASTE_ON)},
    }
    @sessions = []
    def self.mark(ec, err)
      @end_mark = format(MARKS[[@sessions.size > 1, !err.nil?]], *[ec, err].compact)
    end
    # A session nested in the session's own (a cell's \`binding.pry\`) reads the next cells: its
    # prompt ends the cell that reached it, its markers name it, and the held file says so.
    def self.session(pry, starts)
      starts ? @sessions.push(pry) : @sessions.pop
      pry.prompt = wrap(pry.prompt) if starts && !@ours.include?(pry.prompt)
      if @sessions.size > 1
        File.write(HELD, "${NESTED}") rescue nil
        mark(0, nil) if starts
      else
        File.delete(HELD) rescue nil
      end
    end
    # Ours around the prompt a session starts with (the rc files', a local .pryrc's too): the end
    # marker before the main prompt, none before the continuation one (pry reads more of an
    # expression).
    @ours = {}.compare_by_identity
    def self.wrap(base)
      procs = base.respond_to?(:prompt_procs) ? base.prompt_procs : Array(base)
      main, more = procs.first, procs.last
      ours = [proc { |*a| @end_mark + main.call(*a).to_s }, more]
      if base.respond_to?(:prompt_procs)
        ours = Pry::Prompt.new("ktty", "ktty's markers around #{base.name}", ours)
      end
      @ours[ours] = true
      ours
    end
    # An exception as pry shows it, less the frames of this script.
    def self.report(pry, e)
      own = (e.backtrace || []).take_while { |l| !l.include?("/${FILE}:") }
      if e.is_a?(Pry::CommandError)
        (pry ? pry.output : $stdout).puts "Error: #{e.message}"
      elsif pry && !own.empty?
        e.set_backtrace(own)
        pry.last_exception = e
        pry.config.exception_handler.call(pry.output, e, pry)
      else
        $stdout.puts "#{e.class}: #{e.message.chomp}"
      end
    end
    # Where the code's lines are, for eval: in pry's buffer of what was read, as pry puts its
    # input, so \`show-source\` and \`whereami\` find the code a cell defined.
    def self.source_lines(src)
      return ["(pry)", 1] unless Pry.respond_to?(:line_buffer) && Pry.respond_to?(:current_line)
      line = Pry.current_line
      Pry.line_buffer.push(*src.each_line)
      Pry.current_line += src.lines.count
      [Pry.eval_path, line]
    end
    def self.run(id)
      path = File.join(CELLS, "#{id}.rb")
      src = File.read(path, encoding: "UTF-8")
      File.delete(path) rescue nil
      pry = @pry
      ec, err, value = 0, nil, nil
      $stdout.write("${escapedString(startMarker(nonce))}")
      $stdout.flush
      begin
        line = src.strip
        if pry && !line.include?("\n") && pry.commands.find_command(line)
          pry.run_command(line) # a pry command (ls, cd, whereami, show-source), as typed
        else
          target = pry ? pry.current_binding : TOPLEVEL_BINDING
          value = target.eval(src, *source_lines(src))
          puts "=> #{value.inspect}" unless src.gsub(/^\\s*#.*$/, "").strip.empty?
        end
      rescue SystemExit
        raise
      rescue Exception => e
        ec, err, value = 1, e.class.name, nil
        $stdout.flush
        report(pry, e)
      ensure
        $stdout.flush
        $stderr.flush
        mark(ec, err)
      end
      value
    end
  end
  Pry.config.history_file = "${escapedString(files.history)}"
  Pry.config.pager = false
  # After each line it reads, pry redraws it re-indented and coloured, its prompt (our end
  # marker) in front: ktty would read that as the cell's end.
  Pry.config.correct_indent = false
  # The running instance, whose binding a cell runs in (a \`cd\` changes it).
  Pry.config.hooks.add_hook(:before_eval, :ktty) { |_code, pry| KttyPry.pry = pry }
  Pry.config.hooks.add_hook(:before_session, :ktty) { |_o, _b, pry| KttyPry.session(pry, true) }
  Pry.config.hooks.add_hook(:after_session, :ktty) { |_o, _b, pry| KttyPry.session(pry, false) }
  def __k(id)
    KttyPry.run(id)
  end
end
KttyPry.mark(0, nil)
`;
}

/** pry. */
export const pry: ProgramProfile = {
  kind: "pry",
  names: /^pry[0-9.]*$/,
  bracketedPaste: false,
  quotedInsert: false,
  drain: CLEAR_LINE,
  // Its rc file is the integration script (absent in repeat mode: pry then loads none).
  environment: (files) => ({ PRYRC: `${files.dir}/${FILE}` }),
  integration: {
    file: FILE,
    script,
    installLine: (path) => `load "${escapedString(path)}"`,
    typeCell: (code, cell) => ({
      lines: [`__k('${cell.cellId}');`],
      codeFile: { path: `${cell.cellsDir}/${cell.cellId}.rb`, content: code },
    }),
  },
};

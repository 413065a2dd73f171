// The answer to `prov why` / `prov impact`: the causal search (lineage_search.h) over the
// database, then, unless --all, the short form of LINEAGE.md: runtime reads folded into a
// count per process (runtime_rule.h) and processes that moved no data left out. Every
// renderer (text, native JSON, PROV-JSON, DOT) draws this same subgraph.
#pragma once

#include <map>
#include <set>
#include <string>
#include <vector>

#include "bento/lineage/database.h"
#include "lineage_graph.h"
#include "lineage_search.h"
#include "runtime_rule.h"

namespace prov_cli {

struct AnswerOptions {
  int depth = 6;
  bool all = false;  // no folding, no pruning
  RuntimeRule rule;
  size_t max_nodes = 0;  // the search's budget (0: none); beyond it, Answer::over_budget
};

struct Answer {
  bool backward = true;
  bool all = false;  // AnswerOptions::all: nothing folded (the text folds no walk's listings)
  bool over_budget = false;  // the search passed AnswerOptions::max_nodes: nothing else is set
  std::vector<std::pair<Node, int64_t>> roots;  // with their starting bound
  // How much of a node is shown: everything it got from (kFull), only who started it
  // (kAncestry: a process without data inputs that started a writer of the file asked
  // about), or just its line (kLine: a writer without data inputs of an input file).
  enum Shown { kFull, kAncestry, kLine };
  std::map<Node, Shown> nodes;
  std::set<Step> steps;
  std::map<Node, SearchResult::Reach> reach;  // from the search
  struct Folded {
    int count = 0;
    std::map<std::string, int> by_reason;     // "/usr/" -> 12, "program /opt/x/" -> 3
    std::map<std::string, int64_t> first_of;  // reason -> an entity it folded (named if alone)
    // Pipes and sockets it read that carried no data (their writers read none): folded
    // too, their writers named.
    int streams = 0;
    std::set<int64_t> stream_writers;  // activity ids
    // Files it read before that its copies did not carry into the file asked about (`cp -r`
    // reached through one of the files it wrote): entity ids, not walked.
    std::set<int64_t> not_copied;
  };
  std::map<int64_t, Folded> runtime;  // activity id -> what of its reads is folded
  // Restricted activities that relay (a pty master's holder: sshd, script, tmux): what
  // they did not pass on is "not relayed", not "not copied".
  std::set<int64_t> relays;
  // Copies (LINEAGE.md §3): a shown writer whose writes of a version only copied files it
  // read: (activity id, version's entity id) -> the entities it copied into that file. A
  // `cp a b dir/` reached through both copies walks both reads; under each copy the text
  // lists only what went into that one.
  std::map<std::pair<int64_t, int64_t>, std::set<int64_t>> copied_into;
  int left_out_activities = 0, left_out_entities = 0;
  // Forked images (activity ids) that exec'd a program: what their parent had read reaches
  // the program only through argv and environment (lineage_answer.cc). Backward, the
  // parent's data inputs were held back; forward, the program is followed with a note.
  std::set<int64_t> argv_only_forks;
  // Of such a fork, what its parent had read before it that the answer holds back (not
  // listed as passed on), named for the note: a file's path ("the listing of DIR"), "the
  // output of CMD" for a pipe (`export T=$(cat token)` long before), each with when it was read.
  // Not a claim: a pointer.
  std::map<int64_t, std::map<std::string, int64_t>> held_back;
  // Of such a parent, the reads it made since the last command it started before this one
  // (not counting the commands whose output it read: `K=$(cat f)`): the data a shell puts
  // in a command line or environment (`K=$(cat secret) python3 job.py`, `curl -d "$(cat
  // f)"`, `while read x; do cmd "$x"; done < list`). Listed with that note, under the
  // parent as shown above the program it forked then: read -> those fork times.
  std::map<Step, std::set<int64_t>> passed_reads;
  // The reads of a module's source by the python runs that compiled it into bytecode
  // shown (compiled_bytecode): the one input of theirs the bytecode holds, listed under
  // them while their other inputs are not.
  std::set<Step> compiled_from;
  // Reads of the program a shown process ran (program_read): listed under it, with what
  // made them, also under a parent whose other reads are held back.
  std::set<Step> program_reads;
  // Per-file tools (`gzip a b`, a loop converting each file, `sed -i` on several): a read
  // by a writer of the file asked about that ended before the writer finished another file
  // it had begun and finished before this one: maybe only for that file (mark_batches).
  // Read step -> that earlier output (its path, when it was finished). Shown, but said.
  struct EarlierOutput {
    std::string path;
    int64_t finished = 0;
    int64_t sender_end = 0;  // a connection's: when the last process that sent on it exited
    bool sent = false;       // a reply it sent on a connection
    // TCP: `finished` (a reply) or `sender_end` (a connection read) is where the sender
    // sent its FIN (closed or shut down its end), not a process's exit.
    bool closed = false, sender_closed = false;
    // A reply whose sends are instants (events.h v11): `finished` is a reported send of it
    // (it sent nothing new after it until its next one).
    bool sent_instant = false;
    // A connection read whose senders' sends are instants (UDP, events.h v11):
    // `sender_end` is the last one's reported send, after which it sent nothing new.
    bool sender_instant = false;
    // A read by a writer of a pipe (a pool's worker): `pipe` is that pipe, `sent` when the
    // writer next wrote it, which its reader (`reader`, an activity id) took in before it
    // finished its own earlier file `path` (mark_pipe_batches). Empty: the reader's own.
    std::string pipe;
    int64_t sent_at = 0;
    int64_t reader = 0;
    // A read only other threads of the writer made, one of which (`thread`) wrote `path`
    // (mark_thread_batches, LINEAGE.md "Threads"). 0: not so.
    uint32_t thread = 0;
  };
  std::map<Step, EarlierOutput> earlier_batch;
  // Forward, the same seen from the read: a write (step) of a file the reader began after
  // it finished another file, when its reads that brought the data asked about all ended
  // before that other file was finished: maybe not from them. Write step -> that file.
  std::map<Step, EarlierOutput> later_batch;
  // Shown nodes where the search stopped at `depth` with causes (backward) or effects
  // (forward) left unsearched: the answer is complete only when this is empty.
  int depth = 0;
  std::set<Node> beyond_depth;
  // Gaps in a mount's provenance log that overlap the answer's time span.
  std::vector<std::string> gaps;
};

// A version made by a call that wrote no bytes into it, and whose maker wrote none later
// (the collector ends such a step where it began): a create or O_TRUNC open whose handle
// others wrote through (a shell's `{ cat a; } > out`), a truncation, a rename, a chmod. What
// its maker had read is not in the file: the answer shows the maker as who did it, without
// its inputs.
bool puts_no_data(const Step& st);
// A Python interpreter writing `__pycache__/*.pyc`: shown the same way, but for its read of
// the module's source, which is what went in (not the run's other inputs).
bool compiled_bytecode(LineageGraph& g, const Step& st);
// A process image's read of the program it ran: its executable (the collector stores it as
// read "program" at the exec), the stdin pipe an interpreter ran (read "program" too), or
// the script its interpreter was given (script_rule.h: `sh /tmp/drop.sh`, `python3 -u
// job.py`, a `#!` script: the kernel passes its path as argv[1]).
bool program_read(LineageGraph& g, const Step& st);
// The day clock_text() shows times on without their date: the first root's.
void set_answer_day(LineageGraph& g, const std::vector<std::pair<Node, int64_t>>& roots);
// The script file an image with this argv (JSON array) and exe runs (script_rule.h), or "".
std::string program_script(const nlohmann::json& argv, const std::string& exe);
// The module source path of bytecode `__pycache__/m.cpython-311.pyc` (`m.py` beside
// `__pycache__/`), or "" when the file is no such bytecode.
std::string bytecode_source(const std::string& path);

Answer answer_backward(LineageGraph& g, LineageSource& src,
                       const std::vector<std::pair<Node, int64_t>>& roots, AnswerOptions& options);
Answer answer_forward(LineageGraph& g, LineageSource& src,
                      const std::vector<std::pair<Node, int64_t>>& roots, AnswerOptions& options);

// Where a backward answer's data began (LINEAGE.md §3, "Origins"): the files and remote
// endpoints it shows in full, read by a process shown for its data, that nothing in the
// answer made (there before the record, or from outside it), not the roots, not where the
// depth bound stopped; in path order.
std::vector<Node> answer_origins(LineageGraph& g, const Answer& a);
// What a forward answer's data went into (LINEAGE.md §3, "Origins"): the files and remote
// endpoints it reaches, but for the files asked about (their later versions), each file
// once, by its newest version reached, in path order.
std::vector<Node> answer_reached(LineageGraph& g, const Answer& a);

// The answer as the native document (JSON.md): its nodes, its steps as PROV edges (with
// `time` and `last`), wasDerivedFrom(process) between its entities where the activity
// read the one before it last wrote the other, and the folded counts.
nlohmann::json answer_json(LineageGraph& g, const Answer& a, nlohmann::json header);

}  // namespace prov_cli

#include "lineage_db_source.h"

#include <algorithm>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "lineage_answer.h"
#include "script_rule.h"

namespace prov_cli {

using bento::lineage::Stmt;

int informed_cost(const std::string& how) {
  return how == "exec" || how == "setuid" || how == "setgid" ? 0 : 1;
}

// last_ns, else the acting activity's end, else open-ended.
#define LAST_OR_END(rel) "COALESCE(" rel ".last_ns, a.end_ns, 9223372036854775807)"

struct DbLineageSource::Statements {
  Statements(sqlite3* db, bool transfers)
      : writers(db,
                "SELECT g.id, g.activity_id, g.time_ns, " LAST_OR_END(
                    "g") ", g.how FROM generated g JOIN activities a ON a.id = g.activity_id "
                         "WHERE g.entity_id = ?"),
        previous(db,
                 "SELECT id, used_id, time_ns FROM derived WHERE generated_id = ? AND how = "
                 "'version'"),
        inputs(db,
               "SELECT u.id, u.entity_id, u.time_ns, " LAST_OR_END(
                   "u") ", u.how FROM used u JOIN activities a ON a.id = u.activity_id WHERE "
                        "u.activity_id = ?"),
        informants(db,
                   "SELECT id, informant_id, time_ns, how FROM informed WHERE informed_id = ? AND "
                   "how != 'signal'"),
        readers(db,
                "SELECT u.id, u.activity_id, u.time_ns, " LAST_OR_END(
                    "u") ", u.how FROM used u JOIN activities a ON a.id = u.activity_id WHERE "
                         "u.entity_id = ?"),
        next(db,
             "SELECT id, generated_id, time_ns FROM derived WHERE used_id = ? AND how = "
             "'version'"),
        outputs(db,
                "SELECT g.id, g.entity_id, g.time_ns, " LAST_OR_END(
                    "g") ", g.how FROM generated g JOIN activities a ON a.id = g.activity_id "
                         "WHERE g.activity_id = ?"),
        informed(db,
                 "SELECT id, informed_id, time_ns, how FROM informed WHERE informant_id = ? AND "
                 "how != 'signal'") {
    if (!transfers) return;  // a database from before schema v9
    // A pipe's (stream socket's) later reads and writes (schema v9): instants, rows of
    // their own (-id), with their first one's how ('pipe', 'receive', 'send').
    const char* const kTransfers =
        "SELECT -t.id, t.%s, t.time_ns, t.time_ns, IFNULL(r.how, 'pipe') FROM pipe_transfers t "
        "LEFT JOIN %s r ON r.activity_id = t.activity_id AND r.entity_id = t.entity_id WHERE "
        "t.%s = ? AND t.is_write = %d";
    auto make = [&](const char* other, const char* self, int write) {
      char sql[384];
      std::snprintf(sql, sizeof(sql), kTransfers, other, write ? "generated" : "used", self, write);
      return std::make_unique<Stmt>(db, sql);
    };
    transfers_written = make("activity_id", "entity_id", 1);
    transfers_read_by = make("entity_id", "activity_id", 0);
    transfers_readers = make("activity_id", "entity_id", 0);
    transfers_written_by = make("entity_id", "activity_id", 1);
  }
  Stmt writers, previous, inputs, informants, readers, next, outputs, informed;
  // (id < 0, other end, time, time, 'pipe'); null before schema v9.
  std::unique_ptr<Stmt> transfers_written, transfers_read_by, transfers_readers,
      transfers_written_by;
};

#undef LAST_OR_END

DbLineageSource::DbLineageSource(bento::lineage::Database& db)
    : db_(db), q_(std::make_unique<Statements>(db.handle(), db.has_pipe_transfers())) {}

DbLineageSource::~DbLineageSource() = default;

namespace {

// Rows (id, other, first, last, how) of one relation, as steps.
void add_rows(Stmt& q, int64_t id, Step::Type type, bool other_is_cause, Node self,
              Node::Kind other_kind, int cost, std::vector<Step>* out) {
  q.reset();
  q.bind(1, id);
  while (q.step()) {
    Step s;
    s.type = type;
    s.row = q.int64(0);
    Node other{other_kind, q.int64(1)};
    s.effect = other_is_cause ? self : other;
    s.cause = other_is_cause ? other : self;
    s.first = q.int64(2);
    s.last = q.int64(3);
    s.how = q.text(4);
    s.cost = cost;
    out->push_back(std::move(s));
  }
}

// Rows (id, other, time[, how]) of a relation that happens at an instant.
void add_instants(Stmt& q, int64_t id, Step::Type type, bool other_is_cause, Node self,
                  Node::Kind other_kind, std::vector<Step>* out) {
  q.reset();
  q.bind(1, id);
  while (q.step()) {
    Step s;
    s.type = type;
    s.row = q.int64(0);
    Node other{other_kind, q.int64(1)};
    s.effect = other_is_cause ? self : other;
    s.cause = other_is_cause ? other : self;
    s.first = s.last = q.int64(2);
    s.how = type == Step::kVersion ? "version" : q.text(3);
    s.cost = type == Step::kVersion ? 0 : informed_cost(s.how);
    out->push_back(std::move(s));
  }
}

}  // namespace

const std::vector<Step>& DbLineageSource::causes(Node n) {
  auto [it, fresh] = causes_.emplace(n, std::vector<Step>());
  if (!fresh) return it->second;
  std::vector<Step>& out = it->second;
  if (n.kind == Node::kEntity) {
    add_rows(q_->writers, n.id, Step::kGenerated, true, n, Node::kActivity, 0, &out);
    if (q_->transfers_written)
      add_rows(*q_->transfers_written, n.id, Step::kGenerated, true, n, Node::kActivity, 0, &out);
    add_instants(q_->previous, n.id, Step::kVersion, true, n, Node::kEntity, &out);
  } else {
    add_rows(q_->inputs, n.id, Step::kUsed, true, n, Node::kEntity, 1, &out);
    if (q_->transfers_read_by)
      add_rows(*q_->transfers_read_by, n.id, Step::kUsed, true, n, Node::kEntity, 1, &out);
    add_instants(q_->informants, n.id, Step::kInformed, true, n, Node::kActivity, &out);
  }
  return out;
}

const std::vector<Step>& DbLineageSource::effects(Node n) {
  auto [it, fresh] = effects_.emplace(n, std::vector<Step>());
  if (!fresh) return it->second;
  std::vector<Step>& out = it->second;
  if (n.kind == Node::kEntity) {
    add_rows(q_->readers, n.id, Step::kUsed, false, n, Node::kActivity, 1, &out);
    if (q_->transfers_readers)
      add_rows(*q_->transfers_readers, n.id, Step::kUsed, false, n, Node::kActivity, 1, &out);
    add_instants(q_->next, n.id, Step::kVersion, false, n, Node::kEntity, &out);
  } else {
    add_rows(q_->outputs, n.id, Step::kGenerated, false, n, Node::kEntity, 0, &out);
    if (q_->transfers_written_by)
      add_rows(*q_->transfers_written_by, n.id, Step::kGenerated, false, n, Node::kEntity, 0, &out);
    add_instants(q_->informed, n.id, Step::kInformed, false, n, Node::kActivity, &out);
  }
  return out;
}

// ---- threads (schema v10)

const std::map<int64_t, std::set<uint32_t>>& DbLineageSource::thread_io(int64_t activity,
                                                                        bool write) {
  auto [it, fresh] =
      thread_io_.emplace(std::make_pair(activity, write), std::map<int64_t, std::set<uint32_t>>());
  if (!fresh || db_.schema_version() < 10) return it->second;
  Stmt& q =
      db_.cached("SELECT entity_id, tid FROM thread_io WHERE activity_id = ? AND is_write = ?");
  q.bind(1, activity).bind(2, write ? 1 : 0);
  while (q.step()) it->second[q.int64(0)].insert(static_cast<uint32_t>(q.int64(1)));
  q.reset();
  return it->second;
}

// ---- copies

DbLineageSource::Copies& DbLineageSource::copies_of(int64_t activity) {
  auto [it, fresh] = copies_.emplace(activity, Copies());
  if (!fresh || db_.schema_version() < 7) return it->second;
  Stmt& q = db_.cached(
      "SELECT IFNULL(source_id, 0), dev, ino, IFNULL(from_source_id, 0), from_dev, from_ino "
      "FROM copies WHERE activity_id = ?");
  q.bind(1, activity);
  while (q.step())
    it->second.from[{q.int64(0), q.int64(1), q.int64(2)}].insert(
        {q.int64(3), q.int64(4), q.int64(5)});
  q.reset();
  if (it->second.from.empty()) return it->second;
  // A file it copied from a version it wrote itself (sqlite's checkpoint copies the WAL it
  // wrote into the database; sort merging its temporary files) holds whatever it had read
  // before it wrote that version, which the answer may fold as its scratch file: every read
  // counts for such a file. (A version it only read before it rewrote the file, vim's
  // backup copy of the file it saves, is a copy like any other.)
  std::set<int64_t> made;
  for (const Step& st : effects(Node::activity(activity)))
    if (st.type == Step::kGenerated) made.insert(st.effect.id);
  std::set<Identity> own;
  for (const Step& st : causes(Node::activity(activity)))
    if (st.type == Step::kUsed && made.count(st.cause.id) != 0) own.insert(identity(st.cause.id));
  std::erase_if(it->second.from, [&](const auto& written) {
    return std::any_of(written.second.begin(), written.second.end(),
                       [&](const Identity& from) { return own.count(from) != 0; });
  });
  return it->second;
}

// The script file the activity runs, for an interpreter (script_rule.h), else "".
std::string DbLineageSource::script_of(int64_t activity) {
  Stmt& q = db_.cached("SELECT argv, exe FROM activities WHERE id = ?");
  q.bind(1, activity);
  std::string script;
  if (q.step()) {
    script = program_script(nlohmann::json::parse(q.text(0), nullptr, false), q.text(1));
  }
  q.reset();
  return script;
}

std::string DbLineageSource::path_of(int64_t entity) {
  Stmt& q = db_.cached("SELECT IFNULL(path, '') FROM entities WHERE id = ?");
  q.bind(1, entity);
  std::string path = q.step() ? q.text(0) : "";
  q.reset();
  return path;
}

DbLineageSource::Identity DbLineageSource::identity(int64_t entity) {
  auto [it, fresh] = identities_.emplace(entity, Identity{-1, -1, -1});
  if (!fresh) return it->second;
  Stmt& q = db_.cached(
      "SELECT IFNULL(f.source_id, 0), CASE WHEN f.source_id IS NULL THEN IFNULL(f.dev, 0) ELSE 0 "
      "END, f.ino FROM entities e JOIN files f ON f.id = e.file_id WHERE e.id = ?");
  q.bind(1, entity);
  if (q.step()) it->second = {q.int64(0), q.int64(1), q.int64(2)};
  q.reset();
  return it->second;
}

bool DbLineageSource::terminal(int64_t entity) {
  auto [it, fresh] = terminals_.emplace(entity, false);
  if (fresh) it->second = path_of(entity).starts_with("/dev/pts/") && !terminal_output(entity);
  return it->second;
}

// The collector stores a terminal's output as a FIFO with bit 31 set in its generation.
bool DbLineageSource::terminal_output(int64_t entity) {
  auto [it, fresh] = terminal_outputs_.emplace(entity, false);
  if (!fresh) return it->second;
  Stmt& q = db_.cached(
      "SELECT f.kind = 'fifo' AND f.source_id IS NULL AND IFNULL(f.gen, 0) >= 2147483648 FROM "
      "entities e JOIN files f ON f.id = e.file_id WHERE e.id = ?");
  q.bind(1, entity);
  it->second = q.step() && q.int64(0) != 0;
  q.reset();
  return it->second;
}

bool DbLineageSource::stream(int64_t entity) {
  auto [it, fresh] = streams_.emplace(entity, false);
  if (!fresh) return it->second;
  Stmt& q = db_.cached(
      "SELECT f.kind, IFNULL(e.path, '') FROM entities e JOIN files f ON f.id = e.file_id "
      "WHERE e.id = ?");
  q.bind(1, entity);
  it->second = q.step() && (q.text(0) != "file" || q.text(1).starts_with("/dev/"));
  q.reset();
  return it->second;
}

// The holder of a pty master (sshd-session, tmux, script) relays: it writes its terminal's
// input from what it receives, and sends on what the terminal showed. Backward from its
// write of a terminal's input, only its reads of pipes, sockets and devices, of what it was
// given on stdin (`script < keys`), and its program count, not its configuration, keys or
// /etc/shadow, nor the terminal's output it reads (what the programs there showed: not
// what it types into it); from one of its sends, the same but with the terminal's output
// (`ssh -t host cat secret`: sshd sends what cat showed, not its host keys). Forward from a
// read of a file, its writes of terminals and its sends are not reached; from a read of a
// terminal's output, its writes of terminals. 0: no restriction.
int64_t DbLineageSource::relay_restriction(const Step& arrival) {
  enum Relay { kTyped, kSent, kFromFile, kFromOutput };
  const bool backward = arrival.type == Step::kGenerated;
  const Node act = backward ? arrival.cause : arrival.effect;
  Relay relay;
  if (backward) {
    if (terminal(arrival.effect.id))
      relay = kTyped;
    else if (arrival.how == "send" && holds_terminal(act.id))
      relay = kSent;
    else
      return 0;
  } else {
    if (arrival.how == "program" || arrival.how == "stdin") return 0;
    if (terminal_output(arrival.cause.id))
      relay = kFromOutput;
    else if (!stream(arrival.cause.id))
      relay = kFromFile;
    else
      return 0;
    if (!holds_terminal(act.id)) return 0;
  }
  auto [it, fresh] =
      restriction_ids_.emplace(std::make_tuple(backward, act.id, Identity{-1 - relay, 0, 0}), 0);
  if (!fresh) return it->second;
  std::vector<Step> steps;
  for (const Step& st : backward ? causes(act) : effects(act)) {
    bool drop = false;
    if (backward)
      drop = st.type == Step::kUsed && st.how != "program" && st.how != "stdin" &&
             (!stream(st.cause.id) || (relay == kTyped && terminal_output(st.cause.id)));
    else
      drop = st.type == Step::kGenerated &&
             (terminal(st.effect.id) || (relay == kFromFile && st.how == "send"));
    if (!drop) steps.push_back(st);
  }
  restricted_.push_back(std::move(steps));
  it->second = static_cast<int64_t>(restricted_.size());
  return it->second;
}

// A pty master's holder: it wrote a terminal's input or read a terminal's output. One
// indexed look each, not a path per output of a busy process.
bool DbLineageSource::holds_terminal(int64_t activity) {
  auto [w, fresh] = holds_terminal_.emplace(activity, false);
  if (!fresh) return w->second;
  Stmt& typed = db_.cached(
      "SELECT 1 FROM generated g JOIN entities e ON e.id = g.entity_id JOIN files f ON f.id = "
      "e.file_id WHERE g.activity_id = ? AND e.path LIKE '/dev/pts/%' AND f.kind = 'file' "
      "LIMIT 1");
  typed.bind(1, activity);
  w->second = typed.step();
  typed.reset();
  if (w->second) return true;
  Stmt& shown = db_.cached(
      "SELECT 1 FROM used u JOIN entities e ON e.id = u.entity_id JOIN files f ON f.id = "
      "e.file_id WHERE u.activity_id = ? AND f.kind = 'fifo' AND f.source_id IS NULL AND "
      "f.gen >= 2147483648 LIMIT 1");
  shown.bind(1, activity);
  w->second = shown.step();
  shown.reset();
  return w->second;
}

// Backward, reached through a write of a file its writes only copied: its reads of those
// files and its informants. Forward, reached through a read of a file: its writes of files
// that copied that one or were not only copies, and the rest of its effects.
int64_t DbLineageSource::copy_restriction(const Step& arrival) {
  const bool backward = arrival.type == Step::kGenerated;
  if (!backward && arrival.type != Step::kUsed) return 0;
  const Node act = backward ? arrival.cause : arrival.effect;
  if (act.kind != Node::kActivity) return 0;
  if (const int64_t relay = relay_restriction(arrival); relay != 0) return relay;
  Copies& c = copies_of(act.id);
  if (c.from.empty()) return 0;
  const Identity file = identity(backward ? arrival.effect.id : arrival.cause.id);
  if (backward && c.from.count(file) == 0) return 0;  // its writes of it were not only copies
  if (!backward && (arrival.how == "program" ||
                    bento::collector::names_file(path_of(arrival.cause.id), script_of(act.id))))
    return 0;  // its program: everything it wrote came of it
  auto [it, fresh] = restriction_ids_.emplace(std::make_tuple(backward, act.id, file), 0);
  if (!fresh) return it->second;
  std::vector<Step> steps;
  if (backward) {
    if (!c.indexed_causes) {
      // Its program (executable, script) decided what it copied: never restricted away.
      const std::string script = script_of(act.id);
      for (const Step& st : causes(act)) {
        const bool program =
            st.how == "program" || (!script.empty() && st.type == Step::kUsed &&
                                    bento::collector::names_file(path_of(st.cause.id), script));
        (st.type == Step::kUsed && !program ? c.reads[identity(st.cause.id)] : c.other_causes)
            .push_back(st);
      }
      c.indexed_causes = true;
    }
    steps = c.other_causes;
    for (const Identity& from : c.from.at(file))
      if (auto r = c.reads.find(from); r != c.reads.end())
        steps.insert(steps.end(), r->second.begin(), r->second.end());
  } else {
    if (!c.indexed_effects) {
      for (const Step& st : effects(act)) {
        auto f = st.type == Step::kGenerated ? c.from.find(identity(st.effect.id)) : c.from.end();
        if (f == c.from.end()) {
          c.other_effects.push_back(st);
          continue;
        }
        for (const Identity& from : f->second) c.writes_copying[from].push_back(st);
      }
      c.indexed_effects = true;
    }
    steps = c.other_effects;
    if (auto w = c.writes_copying.find(file); w != c.writes_copying.end())
      steps.insert(steps.end(), w->second.begin(), w->second.end());
  }
  restricted_.push_back(std::move(steps));
  it->second = static_cast<int64_t>(restricted_.size());
  return it->second;
}

bool DbLineageSource::copied_from(int64_t activity, int64_t entity) {
  const Copies& c = copies_of(activity);
  if (c.from.empty()) return false;
  const Identity file = identity(entity);
  return std::any_of(c.from.begin(), c.from.end(),
                     [&](const auto& written) { return written.second.count(file) != 0; });
}

bool DbLineageSource::copied_into(int64_t activity, int64_t entity, const std::set<int64_t>& into) {
  const Copies& c = copies_of(activity);
  if (c.from.empty()) return false;
  const Identity file = identity(entity);
  return std::any_of(into.begin(), into.end(), [&](int64_t written) {
    auto f = c.from.find(identity(written));
    return f != c.from.end() && f->second.count(file) != 0;
  });
}

const std::vector<Step>& DbLineageSource::restricted_steps(int64_t restriction) {
  static const std::vector<Step> none;
  if (restriction <= 0 || restriction > static_cast<int64_t>(restricted_.size())) return none;
  return restricted_[restriction - 1];
}

}  // namespace prov_cli

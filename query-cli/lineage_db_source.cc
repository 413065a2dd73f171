#include "lineage_db_source.h"

namespace prov_cli {

using bento::lineage::Stmt;

int informed_cost(const std::string& how) {
  return how == "exec" || how == "setuid" || how == "setgid" ? 0 : 1;
}

// last_ns, else the acting activity's end, else open-ended.
#define LAST_OR_END(rel) "COALESCE(" rel ".last_ns, a.end_ns, 9223372036854775807)"

struct DbLineageSource::Statements {
  explicit Statements(sqlite3* db)
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
                 "how != 'signal'") {}
  Stmt writers, previous, inputs, informants, readers, next, outputs, informed;
};

#undef LAST_OR_END

DbLineageSource::DbLineageSource(bento::lineage::Database& db)
    : db_(db), q_(std::make_unique<Statements>(db.handle())) {}

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
    add_instants(q_->previous, n.id, Step::kVersion, true, n, Node::kEntity, &out);
  } else {
    add_rows(q_->inputs, n.id, Step::kUsed, true, n, Node::kEntity, 1, &out);
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
    add_instants(q_->next, n.id, Step::kVersion, false, n, Node::kEntity, &out);
  } else {
    add_rows(q_->outputs, n.id, Step::kGenerated, false, n, Node::kEntity, 0, &out);
    add_instants(q_->informed, n.id, Step::kInformed, false, n, Node::kActivity, &out);
  }
  return out;
}

}  // namespace prov_cli

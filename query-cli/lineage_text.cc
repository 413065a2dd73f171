#include "lineage_text.h"

#include <algorithm>
#include <map>
#include <set>
#include <vector>

namespace prov_cli {

using nlohmann::json;

namespace {

const char* branch(bool last) {
  return last ? "└─ " : "├─ ";
}
const char* indent_for(bool last) {
  return last ? "   " : "│  ";
}

std::string written_verb(const std::string& how) {
  if (how == "write" || how == "pipe") return "written by ";
  if (how == "create") return "created by ";
  if (how == "truncate") return "truncated by ";
  if (how == "open-write") return "opened for writing by ";
  if (how == "mkdir" || how == "symlink" || how == "mknod") return "made (" + how + ") by ";
  if (how == "mmap") return "written through a shared mapping by ";
  if (how == "memory") return "the memory of ";  // /proc/PID/environ, mem (SCHEMA.md)
  if (how == "send" || how == "socket") return "sent by ";
  if (how == "setxattr") return "extended attribute set by ";
  if (how == "removexattr") return "extended attribute removed by ";
  return how + " by ";
}

// The earlier output of a batch note: "finished a.gz at T", or for a server's reply "sent
// over tcp A → B at T" (a reported send, events.h v11) or "(its receiver gone at T)".
std::string earlier_output_text(const Answer::EarlierOutput& o, int64_t wall_offset) {
  const std::string at = clock_text(o.finished, wall_offset);
  if (!o.sent) return "finished " + printable(o.path) + " at " + at;
  return "sent over " + printable(o.path) +
         (o.sent_instant ? " at " + at
                         : (o.closed ? " (closed at " : " (its receiver gone at ") + at + ")");
}

// One child line of the tree: its text, the node below it (if any), the bound there.
struct Child {
  int64_t time;
  std::string text;
  Node node;
  bool expand;
  int64_t bound;
  bool ancestry_only = false;  // a parent whose reads were held back: who ran it, only
  const Step* used = nullptr;  // the read it shows, if it is one
  Node made{};                 // a writer's: the version it made (its compiled source)
  // A writer that put none of its inputs in (chmod, rename, truncate), and its parents:
  // who did it, never what they read (not even the reads a held parent may pass on).
  bool no_data = false;
  // A previous (next, forward) version: its own previous one is listed beside it.
  bool version = false;
};

class Printer {
 public:
  Printer(LineageGraph& g, const Answer& a) : g_(g), a_(a) {
    for (const Step& s : a.steps) {
      (a.backward ? by_effect_[s.effect] : by_cause_[s.cause]).push_back(&s);
      by_effect_all_[s.effect].push_back(&s);
    }
  }

  std::string run() {
    std::string out;
    set_answer_day(g_, a_.roots);  // times on the day of the version asked about: no date
    for (const std::string& gap : a_.gaps) out += g_.bold("warning: " + gap) + "\n";
    for (const auto& [root, bound] : a_.roots) {
      g_.annotate_status(root.id);
      root_ = root;
      out += g_.entity_line(root.id) + "\n";
      if (a_.backward)
        entity_back(root, bound, "", &out);
      else
        entity_fwd(root, bound, "", &out);
    }
    for (size_t k = 0; k < continued_.size(); k++) {  // grows while it is walked
      const Child c = continued_[k];
      out += g_.bold("[" + std::to_string(k + 1) + "]") + " " + c.text + "\n";
      expand(c, "", &out);
    }
    // Where the data began (why) or went (impact), at a glance.
    std::vector<std::string> names;
    for (const Node& n : a_.backward ? answer_origins(g_, a_) : answer_reached(g_, a_)) {
      const json& e = g_.entity(n.id);
      // A file known only by its inode (an fd inherited from before provd started).
      const std::string name = !e.value("path", "").empty()
                                   ? printable(e.value("path", ""))
                                   : "[name never seen: file " +
                                         std::to_string(e["file"].value("ino", 0LL)) + ":" +
                                         std::to_string(e["file"].value("gen", 0LL)) + "]";
      if (names.empty() || names.back() != name) names.push_back(name);
    }
    if (!names.empty()) {
      constexpr size_t kListed = 12;
      std::string list;
      for (size_t i = 0; i < names.size() && i < kListed; i++)
        list += (i == 0 ? "" : ", ") + names[i];
      if (names.size() > kListed)
        list += " and " + std::to_string(names.size() - kListed) + " more";
      out += a_.backward
                 ? g_.bold("origins") + g_.dim(" (there before the record, or from outside it): ")
                 : g_.bold("reached") + g_.dim(" (files and remote peers its data went into): ");
      out += list + "\n";
    }
    if (beyond_marks_ > 0) {
      out += g_.bold("(incomplete: the search stopped at --depth " + std::to_string(a_.depth) +
                     " at " + std::to_string(beyond_marks_) +
                     (beyond_marks_ == 1 ? " place" : " places") +
                     " marked …; a larger --depth shows more)") +
             "\n";
    }
    if (a_.left_out_activities + a_.left_out_entities > 0) {
      std::string what;
      if (a_.left_out_activities > 0)
        what = count_of(a_.left_out_activities, "process", "processes");
      if (a_.left_out_entities > 0)
        what += (what.empty() ? "" : " and ") +
                count_of(a_.left_out_entities, "file or pipe", "files or pipes");
      out += g_.dim("(" + what + " without data inputs left out: --all shows them)") + "\n";
    }
    if (!clock_day().empty())
      out += g_.dim("(times are UTC, on " + clock_day() + " unless dated)") + "\n";
    return out;
  }

 private:
  static std::string count_of(int64_t n, const char* one, const char* many) {
    return std::to_string(n) + " " + (n == 1 ? one : many);
  }
  // "a, b, c, d, e, ..." (five at most).
  static std::string first_few(const std::set<std::string>& names) {
    std::string list;
    size_t n = 0;
    for (const auto& name : names) {
      if (n++ == 5) return list + ", ...";
      list += (list.empty() ? "" : ", ") + name;
    }
    return list;
  }
  // A python run shown for the bytecode it compiled, with the module's source it read.
  bool compiler(Node act) const {
    auto it = by_effect_.find(act);
    return it != by_effect_.end() &&
           std::any_of(it->second.begin(), it->second.end(),
                       [&](const Step* s) { return a_.compiled_from.count(*s) != 0; });
  }
  Answer::Shown shown(Node n) const {
    auto it = a_.nodes.find(n);
    return it == a_.nodes.end() ? Answer::kLine : it->second;
  }
  std::string at(int64_t first, int64_t last = kForever) const {
    std::string s = " at " + clock_text(first, g_.wall_offset());
    if (last != kForever && last > first) s += "–" + clock_text(last, g_.wall_offset());
    return g_.dim(s);
  }
  // Prints children in time order (or as given), each followed by its subtree.
  // A subtree whose indentation would pass kWrapColumns (a chain of forty copies is 80
  // levels deep) is continued below the tree, numbered, from the left margin.
  static constexpr size_t kWrapColumns = 96;
  static size_t columns(const std::string& s) {  // UTF-8: one per character
    return static_cast<size_t>(std::count_if(
        s.begin(), s.end(), [](char c) { return (static_cast<unsigned char>(c) & 0xC0) != 0x80; }));
  }
  void emit(std::vector<Child>& kids, const std::string& indent, std::string* out,
            bool in_order = false) {
    if (!in_order)
      std::stable_sort(kids.begin(), kids.end(),
                       [](const Child& a, const Child& b) { return a.time < b.time; });
    for (size_t i = 0; i < kids.size(); i++) {
      const bool last = i + 1 == kids.size();
      const std::string in = indent + indent_for(last);
      const bool wrap = kids[i].expand && columns(in) > kWrapColumns;
      std::string line = kids[i].text;
      if (wrap) {
        continued_.push_back(kids[i]);
        line += g_.dim("  (continued below as [" + std::to_string(continued_.size()) + "])");
      }
      *out += indent + branch(last) + line + "\n";
      if (kids[i].expand && !wrap) expand(kids[i], in, out);
    }
  }
  // Appends to *kids the version each listed version came from (backward) or went on to
  // (forward), and so on: kids_of(k) is the lines under version k.
  template <typename KidsOf>
  static void hoist_versions(std::vector<Child>* kids, KidsOf kids_of) {
    for (size_t i = 0; i < kids->size(); i++) {  // grows: each hoisted version adds its own
      if (!(*kids)[i].version || !(*kids)[i].expand) continue;
      for (Child& other : kids_of((*kids)[i]))
        if (other.version) kids->push_back(std::move(other));
    }
  }
  // The subtree below a child line.
  void expand(const Child& k, const std::string& in, std::string* out) {
    if (k.node.kind == Node::kEntity && entity_path_.count(k.node)) {
      *out += in + g_.dim("└─ (shown above)") + "\n";  // its own writer read it back
      return;
    }
    if (k.node.kind == Node::kEntity)
      a_.backward ? entity_back(k.node, k.bound, in, out, k.version)
                  : entity_fwd(k.node, k.bound, in, out, k.version);
    else
      a_.backward ? activity_back(k.node, k.bound, in, out, k.ancestry_only, k.no_data, k.made)
                  : activity_fwd(k.node, k.bound, in, out);
  }
  // True (and prints a marker) when n was already shown with a bound at least as good.
  // Backward, the listing above may hold inputs it took after this path's deadline: the
  // marker then says which of them count here.
  // copy: the file a copy was reached through (Answer::copied_into), shown per file.
  bool shown_before(Node n, int64_t bound, const std::string& indent, std::string* out,
                    Node copy = {}) {
    std::map<Node, int64_t>& printed = copy.id == 0 ? printed_ : printed_copies_[copy];
    auto it = printed.find(n);
    const bool covered =
        it != printed.end() && (a_.backward ? it->second >= bound : it->second <= bound);
    if (covered) {
      std::string marker = "(shown above)";
      if (a_.backward && took_inputs_between(n, bound, it->second))
        marker = "(shown above; here only what it had before " +
                 clock_text(bound, g_.wall_offset()) + " counts)";
      *out += indent + g_.dim("└─ " + marker) + "\n";
      return true;
    }
    printed[n] = bound;
    return false;
  }
  // Whether the activity (or an image its process ran before) has inputs listed under the
  // later deadline `shown` that the earlier `here` does not allow.
  bool took_inputs_between(Node act, int64_t here, int64_t shown) const {
    std::vector<std::pair<Node, int64_t>> images = {{act, shown}};
    for (size_t i = 0; i < images.size(); i++) {
      auto it = by_effect_.find(images[i].first);
      if (it == by_effect_.end()) continue;
      for (const Step* s : it->second) {
        if (!backward_allowed(*s, images[i].second)) continue;
        if (s->type == Step::kInformed && s->cost == 0)
          images.push_back({s->cause, backward_bound(*s, images[i].second)});
        else if (s->type == Step::kUsed && !backward_allowed(*s, here))
          return true;
      }
    }
    return false;
  }

  // ---- backward: what it came from

  // A file's versions are one list, newest first: its writers, then the previous version,
  // its own previous version and so on as siblings, each with its writers under it (sixty
  // appends to a log are sixty entries, not a staircase sixty levels deep), then who only
  // renamed, truncated or chmod'ed it (rsync's rename of what it wrote: its writer is shown
  // in full first). `hoisted`: e's previous version was listed beside it already.
  void entity_back(Node e, int64_t d, const std::string& indent, std::string* out,
                   bool hoisted = false) {
    std::vector<Child> kids = entity_kids(e, d, hoisted);
    hoist_versions(&kids, [&](const Child& k) { return entity_kids(k.node, k.bound, false); });
    const auto rank = [](const Child& k) { return k.version ? 1 : k.no_data ? 2 : 0; };
    std::stable_sort(kids.begin(), kids.end(), [&](const Child& a, const Child& b) {
      if (rank(a) != rank(b)) return rank(a) < rank(b);
      return a.version ? a.time > b.time : a.time < b.time;
    });
    // A writer reached above as a writer of what is asked about: what it put here is its
    // own data coming back (see mark_echoes), its line not walked again.
    for (Child& k : kids)
      if (!k.version && !k.no_data && k.expand && k.node.kind == Node::kActivity &&
          on_data_path(k.node)) {
        k.expand = false;
        k.text += g_.dim(" — shown above: its own data, back");
      }
    const bool outermost = entity_path_.insert(e).second;
    emit(kids, indent, out, /*in_order=*/true);
    if (outermost) entity_path_.erase(e);
  }
  // A version made out of another by renames, links or unlinks alone, all by the process
  // that wrote that other one (a temporary file put in place: git's objects and refs, an
  // editor's save, os.replace) holds its content: it is listed as that version, its
  // writer's line naming the file it wrote and what it did after. A rename by another
  // process (`mv`) stays a version of its own: who moved it is part of the answer.
  struct Content {
    Node node;
    int64_t bound;
    std::pair<int64_t, int64_t> process{-1, -1};  // (pid, start) of the one who did it all
    std::string note;
  };
  std::pair<int64_t, int64_t> process_of(Node act) {
    const json& a = g_.activity(act.id);
    return {a.value("pid", 0LL), a.value("process_start_ns", 0LL)};
  }
  Content content_of(Node e, int64_t d) {
    static const std::set<std::string> kNamesOnly = {"rename", "link", "unlink", "chmod", "chown"};
    Content c{e, d};
    std::vector<std::string> calls;
    for (int hop = 0; hop < 16; hop++) {
      auto it = by_effect_.find(c.node);
      if (it == by_effect_.end()) break;
      const Step* older = nullptr;
      bool names_only = true;
      std::pair<int64_t, int64_t> by = c.process;
      std::vector<std::string> here;
      for (const Step* s : it->second) {
        if (!backward_allowed(*s, c.bound)) continue;
        if (s->type == Step::kVersion) {
          names_only = names_only && older == nullptr;
          older = s;
        } else if (s->type == Step::kGenerated) {
          const auto who = process_of(s->cause);
          names_only = names_only && puts_no_data(*s) && kNamesOnly.count(s->how) != 0 &&
                       (by.first < 0 || by == who);
          by = who;
          here.push_back(s->how);
        }
      }
      if (!names_only || here.empty() || older == nullptr) break;
      c.process = by;
      for (const std::string& call : here)  // newest first: read in the order they were done
        if (std::find(calls.begin(), calls.end(), call) == calls.end())
          calls.insert(calls.begin(), call);
      c.bound = backward_bound(*older, c.bound);
      c.node = older->cause;
    }
    if (c.node == e) return {e, d};
    // It is that process's content only if it wrote the version it all began from.
    bool wrote = false;
    if (auto it = by_effect_.find(c.node); it != by_effect_.end())
      for (const Step* s : it->second)
        wrote = wrote || (s->type == Step::kGenerated && !puts_no_data(*s) &&
                          backward_allowed(*s, c.bound) && process_of(s->cause) == c.process);
    if (!wrote) return {e, d};
    std::string done;
    for (const std::string& call : calls) done += (done.empty() ? "" : ", ") + call;
    // Beside the file asked about (HEAD.lock for HEAD), its own name says enough.
    std::string as = g_.entity(c.node.id).value("path", "?");
    const std::string now = g_.entity(e.id).value("path", "");
    const size_t slash = as.rfind('/');
    if (slash != std::string::npos && now.size() > slash &&
        now.compare(0, slash + 1, as, 0, slash + 1) == 0 &&
        now.find('/', slash + 1) == std::string::npos)
      as = as.substr(slash + 1);
    c.note = g_.dim("  (as " + printable(as) + "; then " + done + ")");
    return c;
  }

  // The lines under a version: its writers and (unless hoisted) its previous version.
  std::vector<Child> entity_kids(Node shown_as, int64_t shown_bound, bool hoisted) {
    std::vector<Child> kids;
    const Content content = content_of(shown_as, shown_bound);
    const Node e = content.node;
    const int64_t d = content.bound;
    auto it = by_effect_.find(e);
    if (it == by_effect_.end()) return kids;
    // The images of one process that wrote it (a shell's redirection creates the file,
    // the program it execs writes it) are one line: the last image, the whole span.
    struct Writer {
      const Step* last;
      int64_t first, end, bound;
      std::string hows;
      bool no_data;  // only calls that put none of its inputs in (puts_no_data)
    };
    std::map<std::pair<int64_t, int64_t>, Writer> writers;  // (pid, process start)
    for (const Step* s : it->second) {
      if (!backward_allowed(*s, d)) continue;
      const int64_t nd = backward_bound(*s, d);
      if (s->type == Step::kGenerated) {
        const auto key = process_of(s->cause);
        auto [w, fresh] =
            writers.emplace(key, Writer{s, s->first, s->last, nd, s->how, puts_no_data(*s)});
        if (fresh) continue;
        w->second.no_data = w->second.no_data && puts_no_data(*s);
        if (s->cause.id > w->second.last->cause.id) w->second.last = s;  // the later image
        w->second.first = std::min(w->second.first, s->first);
        w->second.end = std::max(w->second.end, s->last);
        w->second.bound = std::max(w->second.bound, nd);
        if (w->second.hows.find(s->how) == std::string::npos) w->second.hows += "," + s->how;
      } else if (s->type == Step::kVersion && !hoisted) {
        g_.annotate_status(s->cause.id);
        Child older{s->first, "previous version " + g_.entity_line(s->cause.id), s->cause, true,
                    nd};
        older.version = true;
        kids.push_back(std::move(older));
      }
    }
    for (const auto& [key, w] : writers) {
      std::string verb = written_verb(w.last->how);
      // A step that made the file and then wrote it (cp, tar, `cat a > out` by one image)
      // ends after it began: the release carries its last write (puts_no_data).
      const bool wrote_after_create = w.hows == "create" && !w.no_data && w.end != kForever;
      if (w.hows.find(',') != std::string::npos || wrote_after_create) {
        verb = written_verb("write");
        if (w.hows.find("create") != std::string::npos) verb = "created and " + verb;
      }
      const Node who = w.last->cause;
      const bool full = shown(shown_as) != Answer::kLine &&
                        (shown(who) != Answer::kLine || compiler(w.last->cause));
      const std::string note = key == content.process && !w.no_data ? content.note : "";
      kids.push_back({w.first, verb + g_.activity_line(who.id) + at(w.first, w.end) + note, who,
                      full, w.bound, w.no_data, nullptr, e, w.no_data});
    }
    return kids;
  }

  // An activity and the images its process ran before (exec): one entry. Met again with a
  // later bound than where it was listed in full above (a server reached through each of
  // its replies), only what came in since is listed: "(shown above with what it had until
  // T; since then:)".
  void activity_back(Node act, int64_t d, const std::string& indent, std::string* out,
                     bool ancestry_only = false, bool no_data = false, Node made = {}) {
    // A copy shows only what it copied into `made`: shown again under each file it copied.
    const std::set<int64_t>* copied = nullptr;
    if (auto c = a_.copied_into.find({act.id, made.id}); c != a_.copied_into.end())
      copied = &c->second;
    int64_t listed_until = -1;  // the bound it was listed in full with above
    if (!ancestry_only && !no_data && copied == nullptr)
      if (auto p = printed_.find(act); p != printed_.end() && p->second < d)
        listed_until = p->second;
    if (!ancestry_only && shown_before(act, d, indent, out, copied != nullptr ? made : Node{}))
      return;
    // Who made a rename or chmod is said once: the same process shown above (as a writer,
    // or for another such change) is not walked up its parents again.
    if (no_data && (printed_.count(act) != 0 || !no_data_shown_.insert(act).second)) {
      *out += indent + g_.dim("└─ (shown above)") + "\n";
      return;
    }
    Listing l = list_back(act, d, ancestry_only, no_data, made, copied, /*mark_printed=*/true);
    mark_echoes(&l.kids);
    // Who ran a parent whose reads are held back (or the maker of a chmod) is said once:
    // the same lines again (a script's shell under each of its twenty commands), each
    // under a bound the listing above covered, are "(shown above)". What it passes on
    // differs per child (what it read since its last command): then it is listed again.
    if ((ancestry_only || no_data) && (!l.kids.empty() || !l.chain.empty())) {
      AncestryListing now = ancestry_listing(l);
      auto [it, first] = ancestry_listed_.emplace(act, now);
      if (!first) {
        if (it->second.covers(now)) {
          *out += indent + g_.dim("└─ (shown above)") + "\n";
          return;
        }
        it->second = std::move(now);
      }
    }
    if (listed_until >= 0) {
      only_news(act, listed_until, made, &l.kids);
      if (l.kids.empty()) {  // nothing came in since the listing above
        *out += indent + g_.dim("└─ (shown above)") + "\n";
        return;
      }
      l.kids.insert(l.kids.begin(),
                    {kNever,
                     g_.dim("(shown above with what it had until " +
                            clock_text(listed_until, g_.wall_offset()) + "; since then:)"),
                     act, false, d});
    } else {
      if (!l.chain.empty())
        l.kids.insert(l.kids.begin(),
                      {kNever,
                       g_.dim((l.cred_change ? "ran after exec or credential change from "
                                             : "ran after exec from ") +
                              l.chain),
                       act, false, d});
      if (!ancestry_only) folded(l.images, d, l.not_copied, &l.kids);
      for (const auto& [img, bound] : l.images) {
        if (ancestry_only) break;
        const json& a = g_.activity(img.id);
        if (!a.contains("inputs_lost")) continue;
        l.kids.push_back({kForever,
                          g_.bold("! " + std::to_string(a.value("inputs_lost", 0LL)) +
                                  " of its events were dropped before it was tracked "
                                  "(provd's memory was full): inputs may be missing"),
                          act, false, d});
      }
    }
    for (const auto& [img, bound] : l.images) {
      if (a_.beyond_depth.count(img) == 0) continue;
      l.kids.push_back({kForever, beyond_line("its inputs"), act, false, d});
      break;
    }
    // Reached as a writer and listed with all it may have passed on (in full, or a relay's
    // streams: not a copy's files alone): its own data coming back to it below (a client's
    // receives from the server whose input it is being asked about) is marked, not walked
    // again.
    const bool on_path = made.id != 0 && !ancestry_only && !no_data &&
                         (copied == nullptr || a_.relays.count(act.id) != 0);
    if (on_path) data_path_.push_back(act);
    emit(l.kids, indent, out);
    if (on_path) data_path_.pop_back();
  }
  // Leaves in *kids what the full listing of act above (with bound `until`) did not have:
  // the same step is not listed again unless more came through it since (a connection it
  // went on receiving on) or it reads otherwise here (a read now said to be maybe for an
  // earlier output).
  void only_news(Node act, int64_t until, Node made, std::vector<Child>* kids) {
    Listing before = list_back(act, until, false, false, made, nullptr, /*mark_printed=*/false);
    mark_echoes(&before.kids);
    std::map<std::pair<const Step*, Node>, const Child*> above;
    for (const Child& k : before.kids) above[{k.used, k.node}] = &k;
    std::erase_if(*kids, [&](const Child& k) {
      auto a = above.find({k.used, k.node});
      return a != above.end() && a->second->text == k.text &&
             (a->second->bound == k.bound || (k.node.kind == Node::kEntity &&
                                              !written_between(k.node, a->second->bound, k.bound)));
    });
  }
  // A read of what only processes reached above as writers of what is asked about wrote
  // (a client's receives from the server it sends to: the server's own data coming back)
  // brought nothing they did not have: said, not walked.
  void mark_echoes(std::vector<Child>* kids) {
    if (data_path_.empty()) return;
    for (Child& k : *kids) {
      if (k.used == nullptr || !k.expand || k.node.kind != Node::kEntity) continue;
      auto w = by_effect_all_.find(k.node);
      if (w == by_effect_all_.end()) continue;
      int64_t writer = 0;
      bool all_above = true;
      for (const Step* ws : w->second) {
        if (ws->type != Step::kGenerated || !backward_allowed(*ws, k.bound)) continue;
        writer = ws->cause.id;
        all_above = all_above && on_data_path(ws->cause);
      }
      if (writer == 0 || !all_above) continue;
      k.expand = false;
      k.text += g_.dim(" — from " + short_command(writer) + " above: its own data, back");
    }
  }
  // (The image itself: an earlier image of its process, before exec, may have written from
  // what the listing above holds back, a here-string's pipe.)
  bool on_data_path(Node act) const {
    return std::find(data_path_.begin(), data_path_.end(), act) != data_path_.end();
  }
  // Whether a step put something into version e in [from, to).
  bool written_between(Node e, int64_t from, int64_t to) const {
    auto it = by_effect_all_.find(e);
    if (it == by_effect_all_.end()) return false;
    return std::any_of(it->second.begin(), it->second.end(), [&](const Step* s) {
      return s->type == Step::kGenerated && s->last >= from && s->first < to;
    });
  }
  // The lines under an activity listed with bound d: its images (exec) and their steps.
  struct Listing {
    std::vector<std::pair<Node, int64_t>> images;
    std::vector<Child> kids;
    std::set<int64_t> not_copied;  // its reads walked for its other copies
    std::string chain;
    bool cred_change = false;
  };
  Listing list_back(Node act, int64_t d, bool ancestry_only, bool no_data, Node made,
                    const std::set<int64_t>* copied, bool mark_printed) {
    Listing l;
    l.images = {{act, d}};
    const std::string user = g_.activity(act.id).value("user", "");
    for (size_t i = 0; i < l.images.size(); i++) {
      auto [img, bound] = l.images[i];
      // An image before the exec whose parent was held back here is shown in full where it
      // is reached as a writer itself (a here-string's pipe): not "shown above" there.
      if (mark_printed && i > 0 && !ancestry_only && a_.argv_only_forks.count(img.id) == 0)
        printed_[img] = std::max(printed_[img], bound);
      auto it = by_effect_.find(img);
      if (it == by_effect_.end()) continue;
      for (const Step* s : it->second) {
        if (s->type == Step::kInformed && s->cost == 0 && backward_allowed(*s, bound)) {
          l.images.push_back({s->cause, backward_bound(*s, bound)});
          l.chain += (l.chain.empty() ? "" : " ← ") + short_command(s->cause.id, false);
          if (s->how != "exec") {  // setuid, setgid: the same program, another user after
            l.cred_change = true;
            l.chain += " [as " + g_.activity(s->cause.id).value("user", "?") + " until " + s->how +
                       " at " + clock_text(s->first, g_.wall_offset()) + "]";
          }
        }
      }
      children_back(img, bound, &l.kids, ancestry_only, no_data, /*direct=*/i == 0, made, user,
                    i == 0 ? copied : nullptr, &l.not_copied);
    }
    std::vector<Child>& kids = l.kids;
    // `cmd < in`: the shell's image opened in, the program it exec'd read it. One line:
    // the read (the open moved nothing).
    std::set<Node> read_here;
    for (const Child& k : kids)
      if (k.used != nullptr && k.used->how != "open") read_here.insert(k.used->cause);
    std::erase_if(kids, [&](const Child& k) {
      return k.used != nullptr && k.used->how == "open" && read_here.count(k.used->cause) != 0;
    });
    // A holder of shared memory reached as its writer: its read of that memory brought only
    // what the memory's other writers put in, and they are listed beside it already.
    std::erase_if(kids, [&](const Child& k) {
      return k.used != nullptr && k.used->how == "mmap" && k.used->cause == made;
    });
    // `busybox sh -c 'cat f'`: both images ran the same program file: one line.
    std::set<Node> programs;
    std::erase_if(kids, [&](const Child& k) {
      return k.used != nullptr && a_.program_reads.count(*k.used) != 0 &&
             !programs.insert(k.used->cause).second;
    });
    if (!a_.all && !ancestry_only) fold_walk(&kids, act, d);
    return l;
  }

  // A walk's listings (`find /etc -name '*.conf'`: 130 directories) are one line, grouped
  // by where they lie: the names are its data, but a line each drowns the answer. A few
  // are shown as they are; --all (and the JSON) lists every one.
  static constexpr size_t kListingsShown = 8;
  void fold_walk(std::vector<Child>* kids, Node act, int64_t d) {
    std::vector<std::string> paths;
    int64_t first = kForever, last = 0;
    for (const Child& k : *kids) {
      if (k.used == nullptr || k.used->how != "readdir") continue;
      paths.push_back(g_.entity(k.used->cause.id).value("path", ""));
      first = std::min(first, k.used->first);
      last = std::max(last, k.used->first);
    }
    if (paths.size() <= kListingsShown) return;
    std::erase_if(*kids,
                  [](const Child& k) { return k.used != nullptr && k.used->how == "readdir"; });
    // The directory they all lie in (with its '/'), then one group per entry of it.
    std::string common = paths.front() + "/";
    for (const std::string& p : paths) {
      const std::string with = p + "/";
      size_t n = 0;
      while (n < common.size() && n < with.size() && common[n] == with[n]) n++;
      common.resize(common.rfind('/', n == 0 ? 0 : n - 1) + 1);
    }
    std::map<std::string, int> groups;
    for (const std::string& p : paths) {
      const std::string rest = (p + "/").substr(common.size());
      groups[rest.empty() ? common : rest.substr(0, rest.find('/') + 1)]++;
    }
    std::vector<std::pair<std::string, int>> order(groups.begin(), groups.end());
    std::stable_sort(order.begin(), order.end(),
                     [](const auto& a, const auto& b) { return a.second > b.second; });
    std::string list;
    for (size_t i = 0; i < order.size() && i < kListingsShown; i++)
      list += (list.empty() ? "" : ", ") + printable(order[i].first) +
              (order[i].second > 1 ? " (" + std::to_string(order[i].second) + ")" : "");
    if (order.size() > kListingsShown)
      list += " and " + count_of(order.size() - kListingsShown, "other", "others");
    const std::string span = clock_text(first, g_.wall_offset()) +
                             (last > first ? "–" + clock_text(last, g_.wall_offset()) : "");
    kids->push_back({first,
                     "listed " + count_of(paths.size(), "directory", "directories") + " under " +
                         printable(common) + ": " + list + " at " + span +
                         g_.dim("; --all lists each"),
                     act, false, d});
  }

  // Where the search stopped at --depth with more to find: said, never silent.
  std::string beyond_line(const std::string& what) {
    beyond_marks_++;
    return g_.bold("… " + what + " lie beyond --depth " + std::to_string(a_.depth) +
                   ": not searched (--depth " + std::to_string(a_.depth * 2) + " goes further)");
  }

  // One kind of folded read: "/usr/ (12)". A prefix that is not a directory
  // ("/etc/locale.") names its one file ("/etc/locale.alias") or reads "/etc/locale.* (2)".
  std::string fold_reason(const std::string& reason, int n,
                          const std::map<std::string, int64_t>& first_of) {
    if (!reason.starts_with("/") || reason.ends_with("/"))
      return reason + " (" + std::to_string(n) + ")";
    auto one = first_of.find(reason);
    if (n == 1 && one != first_of.end()) {
      const std::string path = g_.entity(one->second).value("path", "");
      if (path.starts_with(reason)) return path;
    }
    return reason + "* (" + std::to_string(n) + ")";
  }

  // The reads of a process's images folded by the short answer: one line each kind.
  void folded(const std::vector<std::pair<Node, int64_t>>& images, int64_t d,
              const std::set<int64_t>& copied_elsewhere, std::vector<Child>* kids) {
    int count = 0, streams = 0;
    std::map<std::string, int> reasons;
    std::map<std::string, int64_t> first_of;
    std::set<std::string> names, not_copied;
    bool relay = false;
    for (const auto& [img, bound] : images) relay = relay || a_.relays.count(img.id) != 0;
    for (int64_t e : copied_elsewhere) not_copied.insert(g_.entity(e).value("path", ""));
    for (const auto& [img, bound] : images) {
      auto f = a_.runtime.find(img.id);
      if (f == a_.runtime.end()) continue;
      count += f->second.count;
      streams += f->second.streams;
      for (int64_t e : f->second.not_copied) not_copied.insert(g_.entity(e).value("path", ""));
      for (const auto& [reason, n] : f->second.by_reason) reasons[reason] += n;
      first_of.insert(f->second.first_of.begin(), f->second.first_of.end());
      for (int64_t w : f->second.stream_writers) names.insert(short_command(w, false));
    }
    const Node act = images.front().first;
    if (count > 0) {
      std::string why;
      for (const auto& [reason, n] : reasons)
        why += (why.empty() ? "" : ", ") + fold_reason(reason, n, first_of);
      kids->push_back({kForever - 1,
                       g_.dim("+ " + count_of(count, "runtime read", "runtime reads") +
                              " folded: " + why + "; --all lists " + (count == 1 ? "it" : "them")),
                       act, false, d});
    }
    if (!not_copied.empty()) {
      // A relay (a pty master's holder) passes on what it received; a copier what it copied.
      const std::string how = relay ? " it read, not relayed into this file (it passes on what "
                                      "it received: the pipes, sockets and terminals above)"
                                    : " it read, not copied into this file (its writes of it "
                                      "copied the files above)";
      kids->push_back({kForever - 1,
                       g_.dim("+ " + count_of(not_copied.size(), "other file", "other files") +
                              how + ": " + first_few(not_copied) + "; --all lists " +
                              (not_copied.size() == 1 ? "it" : "them")),
                       act, false, d});
    }
    if (streams > 0) {
      const std::string list = first_few(names);
      kids->push_back({kForever,
                       g_.dim("+ " + count_of(streams, "pipe", "pipes") +
                              " from processes without data inputs folded" +
                              (list.empty() ? "" : " (" + list + ")") + "; --all shows them"),
                       act, false, d});
    }
  }

  // Whether some read of `act` is listed as one it may have passed on to the program it
  // forked at `t` (Answer::passed_reads).
  bool passed_any(Node act, int64_t t) const {
    for (const auto& [st, forks] : a_.passed_reads)
      if (st.effect == act && forks.count(t) != 0) return true;
    return false;
  }

  // "bash pyenv-exec" for `bash /root/.pyenv/libexec/pyenv-exec python3 b.py`, and its pid.
  std::string short_command(int64_t id, bool with_pid = true) {
    const json& a = g_.activity(id);
    // The program, and the script it runs when argv[1] is an absolute path ("bash pyenv",
    // "python3 job.py"). Never the script alone: `bash SHIM /tmp/job.py` is the shim
    // running, not job.py, and `find /data/src` is find.
    std::string prog;
    const json& argv = a.contains("argv") ? a["argv"] : json::array();
    for (size_t i = 0; i < argv.size() && i < 2; i++) {
      if (!argv[i].is_string()) continue;
      std::string arg = argv[i].get<std::string>();
      if (i > 0 && (arg.empty() || arg[0] != '/' || arg.rfind("/dev/fd/", 0) == 0)) break;
      prog += (prog.empty() ? "" : " ") + arg.substr(arg.rfind('/') + 1);
    }
    if (prog.empty()) prog = a.value("exe", "?").substr(a.value("exe", "?").rfind('/') + 1);
    return printable(prog) + (with_pid ? " (pid " + std::to_string(a.value("pid", 0LL)) + ")" : "");
  }

  // A pipe's reads (writes) by one image are instants, a step each (LINEAGE.md §1): one
  // line per image and pipe, the step that bounds the most (backward: the latest allowed;
  // forward: the earliest), with the span of them all. Of `steps` (all from one node), the
  // allowed ones of `type`: kept step -> [earliest, latest] first; the others are absent.
  template <typename Allowed>
  static std::map<const Step*, std::pair<int64_t, int64_t>> one_per_end(
      const std::vector<const Step*>& steps, Step::Type type, bool backward, Allowed allowed) {
    std::map<Node, std::pair<const Step*, std::pair<int64_t, int64_t>>> by_end;
    for (const Step* s : steps) {
      if (s->type != type || !allowed(*s)) continue;
      const Node end = backward ? s->cause : s->effect;
      auto [it, fresh] = by_end.emplace(end, std::make_pair(s, std::make_pair(s->first, s->first)));
      if (fresh) continue;
      auto& [best, span] = it->second;
      span = {std::min(span.first, s->first), std::max(span.second, s->first)};
      if (backward ? s->first > best->first : s->first < best->first) best = s;
    }
    std::map<const Step*, std::pair<int64_t, int64_t>> kept;
    for (const auto& [node, v] : by_end) kept.emplace(v.first, v.second);
    return kept;
  }

  // direct: img is the process image reached (not an image its process ran before exec).
  // made: the version it is shown as the writer of (a python run that compiled several
  // modules is shown under each bytecode file with that one's source only).
  // user: the entry's (its last image's); a read by an image that ran as another user (before
  // a setuid) says whose it was.
  // copied: when img's writes of `made` only copied files, the entities it copied there;
  // its other reads are left to *not_copied.
  void children_back(Node img, int64_t d, std::vector<Child>* kids, bool ancestry_only,
                     bool no_data, bool direct, Node made, const std::string& user,
                     const std::set<int64_t>* copied, std::set<int64_t>* not_copied) {
    const std::string img_user = g_.activity(img.id).value("user", "");
    const std::string as = img_user != user ? "(as " + img_user + ") " : "";
    auto it = by_effect_.find(img);
    if (it == by_effect_.end()) return;
    const Answer::Shown how = ancestry_only ? Answer::kAncestry : shown(img);
    const auto reads = one_per_end(it->second, Step::kUsed, true,
                                   [&](const Step& s) { return backward_allowed(s, d); });
    for (const Step* s : it->second) {
      if (!backward_allowed(*s, d)) continue;
      const int64_t nd = backward_bound(*s, d);
      const auto read = reads.find(s);
      if (s->type == Step::kUsed && read == reads.end()) continue;  // another read of it
      // Not under a rename of the bytecode (`m.pyc.123` onto `m.pyc`): that put nothing in.
      const bool compiled =
          !ancestry_only && a_.compiled_from.count(*s) != 0 &&
          (made.id == 0 || bytecode_source(g_.entity(made.id).value("path", "")) ==
                               g_.entity(s->cause.id).value("path", ""));
      const bool program = a_.program_reads.count(*s) != 0;
      if (s->type == Step::kUsed && copied != nullptr && !program && !compiled &&
          copied->count(s->cause.id) == 0) {
        not_copied->insert(s->cause.id);
        continue;
      }
      // Under the parent shown above a program it forked at d (the bound there).
      auto pr = a_.passed_reads.find(*s);
      const bool passed = !no_data && pr != a_.passed_reads.end() && pr->second.count(d) != 0;
      if (s->type == Step::kUsed && (how == Answer::kFull || compiled || program || passed)) {
        const json& e = g_.entity(s->cause.id);
        g_.annotate_status(s->cause.id);
        const std::string verb = compiled  ? "compiled from "
                                 : program ? "program "
                                           : read_verb(s->how, e.value("kind", ""));
        std::string text =
            verb + as + g_.entity_line(s->cause.id) + at(read->second.first, read->second.second);
        // Which of a relay's reads this file's bytes are (or a copy's source, plainly).
        if (a_.backward && root_.kind == Node::kEntity && !program && !compiled &&
            g_.same_bytes(s->cause.id, root_.id))
          text += g_.dim(" — the same bytes as " +
                         printable(g_.entity(root_.id).value("path", "")) + " now");
        if (passed && how != Answer::kFull)
          text += g_.dim(
              " — read since the last command it started: may reach this program through its "
              "command line or environment");
        // Not where the writer is shown for that earlier output itself (or one before it:
        // a long-lived client's first reply is in the answer too).
        // (A writer of a pipe is shown with its bound there, its last message: the note is
        // about the reader's file, which began after that earlier one was finished.)
        if (auto b = a_.earlier_batch.find(*s); b != a_.earlier_batch.end() && b->second.thread)
          text +=
              g_.dim(" — read by another of its threads (tid " + std::to_string(b->second.thread) +
                     "), which wrote " + printable(b->second.path) + ": maybe only for that one");
        else if (auto b = a_.earlier_batch.find(*s);
                 b != a_.earlier_batch.end() && !b->second.pipe.empty())
          text += g_.dim(" — read before it wrote " + printable(b->second.pipe) + " at " +
                         clock_text(b->second.sent_at, g_.wall_offset()) + ", which " +
                         short_command(b->second.reader) + " read before it " +
                         earlier_output_text(b->second, g_.wall_offset()) +
                         ", a file it wrote before this one: maybe only for that one");
        else if (auto b = a_.earlier_batch.find(*s);
                 b != a_.earlier_batch.end() && d > b->second.finished)
          text += g_.dim(
              std::string(b->second.sender_end != 0 ? " — began receiving" : " — read") +
              " before it " + earlier_output_text(b->second, g_.wall_offset()) +
              (b->second.sent ? ", a reply before this one" : ", a file it wrote before this one") +
              (b->second.sender_end != 0
                   ? std::string(b->second.sender_instant  ? "; its sender sent nothing new after "
                                 : b->second.sender_closed ? "; its sender closed it at "
                                                           : "; its sender exited at ") +
                         clock_text(b->second.sender_end, g_.wall_offset())
                   : std::string()) +
              ": maybe only for that one");
        if (shown(s->cause) == Answer::kLine) {
          // A pipe that carried no data: name who wrote it, do not expand them.
          std::string writers;
          if (auto w = by_effect_all_.find(s->cause); w != by_effect_all_.end())
            for (const Step* ws : w->second)
              if (ws->type == Step::kGenerated && backward_allowed(*ws, nd))
                writers += (writers.empty() ? "" : ", ") + g_.command(ws->cause.id);
          text += g_.dim(writers.empty() ? "" : ", written by " + writers + " (no data inputs)");
          kids->push_back({s->first, text, s->cause, false, nd, false, s});
        } else {
          kids->push_back({s->first, text, s->cause, true, nd, false, s});
        }
      } else if (s->type == Step::kInformed && s->cost > 0) {
        const std::string verb = s->how == "fork" ? "started by " : s->how + " from ";
        // Its parent's reads reach a program it exec'd only through argv and environment
        // (lineage_answer.cc): who ran it is shown, not what it had read.
        // A forked image that wrote something itself before it exec'd (a here-string's
        // pipe) passes on its parent's memory there: held only on the way to a program.
        const bool held = a_.argv_only_forks.count(img.id) != 0 && (!direct || ancestry_only);
        std::string note;
        if (held && !no_data) {
          const std::string earlier = held_back_text(img.id);
          note = g_.dim(passed_any(s->cause, nd)
                            ? " — what it had read reaches this program only through its "
                              "command line or environment: what it read since the last "
                              "command it started is listed" +
                                  (earlier.empty() ? "" : "; before that " + earlier) +
                                  " (--all lists all)"
                            : " — what it had read reaches this program only through its "
                              "command line or environment: not listed" +
                                  (earlier.empty() ? "" : ": " + earlier) + " (--all lists it)");
        }
        const std::string line = verb + g_.activity_line(s->cause.id) + at(s->first) + note;
        Child parent{s->first, line, s->cause, true, nd, held || ancestry_only};
        parent.no_data = no_data;
        kids->push_back(std::move(parent));
      }
    }
  }

  // What the program's parent read that the note above holds back, by when it read it:
  // "token.txt, the output of cat t and 2 more", or "" (see Answer::held_back).
  std::string held_back_text(int64_t program) const {
    auto it = a_.held_back.find(program);
    if (it == a_.held_back.end() || it->second.empty()) return "";
    std::vector<std::pair<int64_t, std::string>> by_time;
    for (const auto& [name, t] : it->second) by_time.emplace_back(t, name);
    std::sort(by_time.begin(), by_time.end());
    constexpr size_t kNamed = 3;
    std::string text;
    for (size_t i = 0; i < by_time.size() && i < kNamed; i++)
      text += (i == 0 ? "" : ", ") + by_time[i].second;
    if (by_time.size() > kNamed)
      text += " and " + std::to_string(by_time.size() - kNamed) + " more";
    return text;
  }

  // ---- forward: what came of it

  // Forward, the same one list: its readers, then each next version in time order as
  // siblings, each with its own readers under it.
  void entity_fwd(Node e, int64_t t, const std::string& indent, std::string* out,
                  bool hoisted = false) {
    std::vector<Child> kids = entity_fwd_kids(e, t, hoisted);
    hoist_versions(&kids, [&](const Child& k) { return entity_fwd_kids(k.node, k.bound, false); });
    std::stable_sort(kids.begin(), kids.end(), [](const Child& a, const Child& b) {
      if (a.version != b.version) return b.version;
      return a.time < b.time;
    });
    const bool outermost = entity_path_.insert(e).second;
    emit(kids, indent, out, /*in_order=*/true);
    if (outermost) entity_path_.erase(e);
  }
  std::vector<Child> entity_fwd_kids(Node e, int64_t t, bool hoisted) {
    std::vector<Child> kids;
    if (auto it = by_cause_.find(e); it != by_cause_.end()) {
      const auto reads = one_per_end(it->second, Step::kUsed, false,
                                     [&](const Step& s) { return forward_allowed(s, t); });
      for (const Step* s : it->second) {
        if (!forward_allowed(*s, t)) continue;
        const int64_t nt = forward_bound(*s, t);
        const auto read = reads.find(s);
        if (s->type == Step::kUsed && read != reads.end()) {
          kids.push_back({s->first,
                          (s->how == "open"      ? "opened by "
                           : s->how == "program" ? "run as the program of "
                                                 : "read by ") +
                              g_.activity_line(s->effect.id) +
                              at(read->second.first, read->second.second),
                          s->effect, true, nt});
        } else if (s->type == Step::kVersion && !hoisted) {
          Child newer{s->first, "next version " + g_.entity_line(s->effect.id), s->effect, true,
                      nt};
          newer.version = true;
          kids.push_back(std::move(newer));
        }
      }
    }
    if (a_.beyond_depth.count(e) != 0)
      kids.push_back({kForever, beyond_line("its readers"), e, false, t});
    for (const auto& l : g_.invalidations(e.id)) {
      kids.push_back({l.time_ns,
                      g_.dim("removed (" + l.how + ")") +
                          (l.id != 0 ? " by " + g_.activity_line(l.id) : std::string()) +
                          at(l.time_ns),
                      e, false, t});
    }
    return kids;
  }

  void activity_fwd(Node act, int64_t t, const std::string& indent, std::string* out) {
    if (shown_before(act, t, indent, out)) return;
    std::vector<Child> kids;
    if (a_.beyond_depth.count(act) != 0)
      kids.push_back({kForever, beyond_line("what it started"), act, false, t});
    auto it = by_cause_.find(act);
    if (it == by_cause_.end()) {
      emit(kids, indent, out);
      return;
    }
    const auto writes = one_per_end(it->second, Step::kGenerated, false,
                                    [&](const Step& s) { return forward_allowed(s, t); });
    for (const Step* s : it->second) {
      if (!forward_allowed(*s, t)) continue;
      const int64_t nt = forward_bound(*s, t);
      if (s->type == Step::kGenerated) {
        const auto write = writes.find(s);
        if (write == writes.end()) continue;  // another write of it (a pipe's)
        g_.annotate_status(s->effect.id);
        std::string note;
        if (auto b = a_.later_batch.find(*s); b != a_.later_batch.end() && b->second.thread)
          note = g_.dim(" — by another of its threads than the one that read this (tid " +
                        std::to_string(b->second.thread) + ", which wrote " +
                        printable(b->second.path) + "): maybe not from it");
        else if (auto b = a_.later_batch.find(*s); b != a_.later_batch.end())
          note = g_.dim(" — begun after it " + earlier_output_text(b->second, g_.wall_offset()) +
                        ", which it " + (b->second.sent ? "sent" : "finished") +
                        " after reading this: maybe not from it");
        kids.push_back({s->first,
                        "wrote " + g_.entity_line(s->effect.id) +
                            at(write->second.first, std::max(write->second.second, s->last)) + note,
                        s->effect, true, nt});
      } else if (s->type == Step::kInformed) {
        const std::string verb = s->how == "exec"   ? "then ran "
                                 : s->how == "fork" ? "started "
                                                    : s->how + " to ";
        std::string note;
        if (s->how == "exec" && a_.argv_only_forks.count(act.id) != 0)
          note = g_.dim(
              " — what its parent had read reaches this program only through its command "
              "line or environment");
        kids.push_back({s->first, verb + g_.activity_line(s->effect.id) + at(s->first) + note,
                        s->effect, true, nt});
      }
    }
    emit(kids, indent, out);
  }

  LineageGraph& g_;
  const Answer& a_;
  Node root_;  // the version asked about whose answer is being printed
  std::map<Node, std::vector<const Step*>> by_effect_, by_cause_, by_effect_all_;
  std::map<Node, int64_t> printed_;
  // The versions whose lines are being expanded: one met again below them (a process that
  // maps the file it writes reads that version back) is not walked a second time.
  std::set<Node> entity_path_;
  // The process images whose lines are being expanded as writers (made something on the way
  // to what is asked about), outermost first: see mark_echoes.
  std::vector<Node> data_path_;
  std::map<Node, std::map<Node, int64_t>> printed_copies_;  // per file copied into
  // What a held-back parent's ancestry listing said, per activity: the nodes of its lines
  // (the notes on them differ: what it held back), and the bound each was listed under.
  struct AncestryListing {
    std::vector<std::pair<std::string, Node>> lines;  // the exec chain's text, then nodes
    std::vector<int64_t> bounds;
    bool covers(const AncestryListing& o) const {
      if (lines != o.lines) return false;
      for (size_t i = 0; i < bounds.size(); i++)
        if (bounds[i] < o.bounds[i]) return false;
      return true;
    }
  };
  static AncestryListing ancestry_listing(const Listing& l) {
    AncestryListing a;
    a.lines.emplace_back(l.chain, Node{});
    a.bounds.push_back(0);
    for (const Child& k : l.kids) {
      a.lines.emplace_back(k.node.id == 0 ? k.text : "", k.node);
      a.bounds.push_back(k.bound);
    }
    return a;
  }
  std::map<Node, AncestryListing> ancestry_listed_;
  std::set<Node> no_data_shown_;  // activities shown as the maker of a rename, chmod, ...
  int beyond_marks_ = 0;
  std::vector<Child> continued_;  // subtrees too deep to indent: shown after the tree
};

}  // namespace

std::string read_verb(const std::string& how, const std::string& kind) {
  if (kind == "endpoint") return "received from ";
  if (kind == "socket") return "received over ";
  if (how == "open") return "opened ";
  if (how == "program") return "program ";      // its executable, read at the exec
  if (how == "stdin") return "read on stdin ";  // `sort < f`: the file the shell gave it
  if (how == "mmap") return "read through a shared mapping ";  // memory others write too
  if (how == "getxattr") return "read an extended attribute of ";
  if (how == "readdir") return "listed directory ";  // the names in it (LINEAGE.md)
  // Another process's memory, read by this one or written into it (SCHEMA.md).
  if (how == "process_vm_readv") return "read (process_vm_readv) ";
  if (how == "ptrace-peek") return "read (ptrace PEEKDATA) ";
  if (how == "process_vm_writev") return "written into its memory (process_vm_writev): ";
  if (how == "ptrace-poke") return "written into its memory (ptrace POKEDATA): ";
  return "read ";
}

std::string answer_text(LineageGraph& g, const Answer& a) {
  return Printer(g, a).run();
}

}  // namespace prov_cli

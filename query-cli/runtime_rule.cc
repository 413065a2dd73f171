#include "runtime_rule.h"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <optional>
#include <set>
#include <string_view>

#include "lineage_answer.h"
#include "posix_semaphore.h"
#include "script_rule.h"

namespace prov_cli {

using bento::lineage::Stmt;
using nlohmann::json;

namespace {

bool starts_with(const std::string& s, const std::string& prefix) {
  return s.compare(0, prefix.size(), prefix) == 0;
}

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  size_t at = 0;
  while (at <= s.size()) {
    size_t end = s.find(sep, at);
    if (end == std::string::npos) end = s.size();
    if (end > at) out.push_back(s.substr(at, end - at));
    at = end + 1;
  }
  return out;
}

// Whether a writer's program lies in `install` (absolute, with its trailing '/'). A program
// exec'd by a relative path (`.venv/bin/pip install x`: the exec names it so) counts when
// its own installation is the tail of `install`.
bool in_installation(std::string program, const std::string& install) {
  if (program.empty()) return false;
  if (program[0] == '/') return starts_with(program, install);
  while (starts_with(program, "./")) program.erase(0, 2);
  const std::string rel = RuntimeRule::install_prefix(program);
  if (rel.empty() || rel[0] == '/' || starts_with(rel, "../")) return false;
  return install.size() > rel.size() &&
         install.compare(install.size() - rel.size(), rel.size(), rel) == 0 &&
         install[install.size() - rel.size() - 1] == '/';
}

// Whether argv (a JSON array) is the run that made virtualenv `install` (trailing '/'):
// `python3 -m venv DIR`, `virtualenv DIR`, `uv venv DIR`. What it wrote there
// (pyvenv.cfg, the activate scripts) is the installation's own, as pip's modules are.
bool made_virtualenv(const std::string& argv_json, const std::string& install) {
  const json argv = json::parse(argv_json, nullptr, false);
  if (!argv.is_array() || argv.empty() || !argv[0].is_string()) return false;
  const std::string prog = argv[0].get<std::string>();
  bool venv = prog.substr(prog.rfind('/') + 1) == "virtualenv", names = false;
  const std::string dir = install.substr(0, install.size() - 1);
  for (size_t i = 1; i < argv.size(); i++) {
    if (!argv[i].is_string()) continue;
    std::string arg = argv[i].get<std::string>();
    venv = venv || arg == "venv" || arg == "virtualenv";
    while (arg.size() > 1 && arg.back() == '/') arg.pop_back();
    while (starts_with(arg, "./")) arg.erase(0, 2);
    if (arg.empty() || arg == "." || starts_with(arg, "../")) continue;
    names =
        names || (arg[0] == '/' ? arg == dir
                                : dir.size() > arg.size() &&
                                      dir.compare(dir.size() - arg.size(), arg.size(), arg) == 0 &&
                                      dir[dir.size() - arg.size() - 1] == '/');
  }
  return venv && names;
}

// A program's name with its directory and version digits dropped (pip3.11 is pip).
std::string_view program_name(std::string_view p) {
  p = p.substr(p.rfind('/') + 1);
  while (!p.empty() && (p.back() == '.' || (p.back() >= '0' && p.back() <= '9')))
    p.remove_suffix(1);
  return p;
}

// A command line (argv, a JSON array) as a short text: "npm install left-pad".
std::string command_text(const std::string& argv_json) {
  const json argv = json::parse(argv_json, nullptr, false);
  std::string text;
  for (const json& a : argv.is_array() ? argv : json::array())
    if (a.is_string()) text += (text.empty() ? "" : " ") + a.get<std::string>();
  return text.size() > 60 ? text.substr(0, 57) + "..." : text;
}

// Whether a writer (its executable and argv, a JSON array) is a language's package manager
// installing: `npm ci`, `pip3 install x`, `python3 -m pip install x`, `uv pip install`,
// `gem install`. What it wrote into a package directory is
// installed code, as a system's package manager writing /usr/ is. Its executable (and the
// script it runs) must be `installed`, and is known by its path, never by argv[0]: `npm` as
// argv[0] of /tmp/evil/dropper, or `node` as argv[0] of cp, is no package manager.
// Its first word must install: `npm run x` and `bun x.js` run code of their own.
bool package_manager(const std::string& exe, const std::string& argv_json,
                     const std::function<bool(std::string_view)>& installed) {
  static const std::set<std::string_view> kManagers = {
      "npm", "yarn",   "yarnpkg", "pnpm",     "bun",   "pip",      "pipx",
      "uv",  "poetry", "pipenv",  "pdm",      "conda", "mamba",    "micromamba",
      "gem", "bundle", "bundler", "composer", "cpanm", "ensurepip"};
  static const std::set<std::string_view> kInstalls = {
      "install", "i", "ci", "add", "update", "upgrade", "sync", "rebuild", "require", "create"};
  const json argv = json::parse(argv_json, nullptr, false);
  if (!argv.is_array()) return false;
  auto arg = [&](size_t i) -> std::string_view {
    if (i >= argv.size() || !argv[i].is_string()) return {};
    return argv[i].get_ref<const std::string&>();
  };
  if (!installed(exe)) return false;
  // A binary (uv, micromamba) or a `#!` script exec'd as itself, or an interpreter running
  // one: `node /usr/bin/npm i` (after `#!/usr/bin/env node`), `python3 -m pip install`.
  std::string_view manager = exe;
  size_t verb = 1;  // argv index of the manager's first word
  if (kManagers.count(program_name(exe)) != 0) {
    // A `#!/usr/bin/python3` script exec'd: its interpreter has argv python3 /usr/bin/pip3 ...
    if (bento::collector::shebang_script(arg(1), exe)) verb = 2;
  } else {
    if (bento::collector::interpreter_of("", exe) == bento::collector::Interpreter::kNone)
      return false;  // by its executable: argv[0] is the caller's to choose
    const bool module = arg(1) == "-m";
    manager = module ? arg(2) : arg(1);
    if (kManagers.count(program_name(manager)) == 0 || (!module && !installed(manager)))
      return false;
    verb = module ? 3 : 2;
  }
  const std::string_view name = program_name(manager);
  if (name == "cpanm" || name == "ensurepip" || (name.starts_with("yarn") && arg(verb).empty()))
    return true;  // installs whatever it is given; `yarn` alone installs
  // Options may come first (`npm --prefix app install`, `pip -q install`): an option's
  // value is the word after it, unless that word installs.
  auto first_word = [&](size_t i) {
    while (arg(i).starts_with("-")) {
      const bool valued = arg(i).starts_with("--") && arg(i).find('=') == std::string_view::npos;
      i++;
      if (valued && !arg(i).empty() && !arg(i).starts_with("-") && kInstalls.count(arg(i)) == 0)
        i++;
    }
    return i;
  };
  verb = first_word(verb);
  std::string_view word = arg(verb);
  if ((name == "uv" && word == "pip") || (name == "pipx" && word == "runpip"))
    word = arg(first_word(verb + 1));
  return kInstalls.count(word) != 0;
}

// The home directory `path` lies in, with its trailing '/' (/root/, /home/USER/), or "".
std::string home_directory(const std::string& path) {
  if (starts_with(path, "/root/")) return "/root/";
  if (!starts_with(path, "/home/")) return "";
  const size_t end = path.find('/', 6);
  return end == std::string::npos || end == 6 ? "" : path.substr(0, end + 1);
}

// What a shell reads to start, system-wide or in a home directory (bash's and zsh's
// startup files, /etc/profile.d/, readline's inputrc, the history), read by a shell (by its
// executable: argv[0] is the caller's to choose): its set-up, not the data of what it then runs.
// Another program reading ~/.bashrc reads it as data.
bool shell_startup_file(const json& activity, const std::string& path) {
  using bento::collector::Interpreter;
  if (bento::collector::interpreter_of("", activity.value("exe", "")) != Interpreter::kShell)
    return false;
  for (const char* p : {"/etc/profile", "/etc/bash.bashrc", "/etc/bashrc", "/etc/zshenv",
                        "/etc/zprofile", "/etc/zshrc", "/etc/zlogin", "/etc/inputrc"})
    if (path == p) return true;
  for (const char* dir : {"/etc/profile.d/", "/etc/zsh/"})
    if (starts_with(path, dir) && path.find('/', std::strlen(dir)) == std::string::npos)
      return true;
  // ~/NAME: /root/NAME or /home/USER/NAME.
  const std::string home = home_directory(path);
  if (home.empty()) return false;
  const std::string name = path.substr(home.size());
  // An interactive shell's line editor set-up and the history it loads for recall too.
  for (const char* n :
       {".profile", ".bashrc", ".bash_profile", ".bash_login", ".bash_logout", ".zshenv",
        ".zprofile", ".zshrc", ".zlogin", ".zlogout", ".inputrc", ".bash_history", ".zsh_history"})
    if (name == n) return true;
  return false;
}

// Whether the bound query has a row; the statement is reset for its next use.
bool has_row(Stmt& q) {
  const bool row = q.step();
  q.reset();
  return row;
}

// Whether `arg` holds the absolute `path` as a word of its own: inline code or a shell
// line (`python3 -c 'open("/etc/group")...'`, `perl -e`, `sh -c`), not a longer path
// (`/etc/passwd.d`) nor a part of one.
bool mentions_path(const std::string& arg, const std::string& path) {
  const auto bounds = [](char c) {
    return std::isspace(static_cast<unsigned char>(c)) != 0 ||
           std::string_view("'\"`=(),;<>|").find(c) != std::string_view::npos;
  };
  for (size_t at = arg.find(path); at != std::string::npos; at = arg.find(path, at + 1)) {
    const size_t end = at + path.size();
    if ((at == 0 || bounds(arg[at - 1])) && (end == arg.size() || bounds(arg[end]))) return true;
  }
  return false;
}

}  // namespace

std::vector<std::string> RuntimeRule::default_prefixes() {
  return {// Programs, libraries, interpreters' standard libraries, data of packages.
          "/usr/", "/lib/", "/lib32/", "/lib64/", "/libx32/", "/bin/", "/sbin/", "/opt/",
          // The loader, locales, time zones, certificates, alternatives.
          "/etc/ld.so.", "/etc/locale.", "/etc/localtime", "/etc/timezone", "/etc/ssl/",
          "/etc/ca-certificates", "/etc/alternatives/", "/etc/terminfo/",
          // Name service and host configuration every libc program may read.
          "/etc/nsswitch.conf", "/etc/passwd", "/etc/group", "/etc/hosts", "/etc/resolv.conf",
          "/etc/host.conf", "/etc/gai.conf", "/etc/mime.types",
          // Kernel interfaces (not /dev: /dev/shm holds ordinary files).
          "/proc/", "/sys/",
          // Random numbers a program draws for itself (git's temporary names, a seed);
          // named (`head -c 32 /dev/urandom > key`) or given on stdin they are its data.
          "/dev/urandom", "/dev/random"};
}

RuntimeRule::RuntimeRule() {
  const char* env = std::getenv("BENTO_PROV_RUNTIME_PREFIXES");
  prefixes_ = env != nullptr ? split(env, ':') : default_prefixes();
}

std::string RuntimeRule::install_prefix(const std::string& program) {
  size_t slash = program.rfind('/');
  if (slash == std::string::npos || slash == 0) return "";
  const std::string dir = program.substr(0, slash);
  size_t up = dir.rfind('/');
  if (up == std::string::npos) return "";
  const std::string base = dir.substr(up + 1);
  if (base != "bin" && base != "sbin" && base != "libexec" && base != "shims") return "";
  const std::string install = up == 0 ? "/" : dir.substr(0, up + 1);  // with its trailing '/'
  // A home directory is no installation: ~/bin/tool reading ~/.ssh/id_rsa or ~/.gitconfig
  // reads its user's files, not its own.
  if (install == "/home/" || home_directory(install) == install) return "";
  return install;
}

std::string RuntimeRule::classify(bento::lineage::Database& db, const json& entity,
                                  const json& activity) {
  if (opened_to_exec(db, entity, activity)) return kExecOpen;
  std::string why = installed_or_shared(db, entity, activity);
  if (why.empty() && entity.value("kind", "") == "file" && !activity.contains("root"))
    why = program_module(db, entity, activity);
  if (why.empty() && !activity.contains("root")) why = listing(db, entity, activity);
  return why;
}

std::string RuntimeRule::installed_or_shared(bento::lineage::Database& db, const json& entity,
                                             const json& activity) {
  const std::string kind = entity.value("kind", "");
  if (kind != "file" && kind != "symlink" && kind != "dir") return "";
  const std::string path = entity.value("path", "");
  if (path.empty() || path[0] != '/') return "";
  if (activity.contains("root")) return classify_in_root(db, entity, activity);
  const json& file = entity.contains("file") ? entity["file"] : json::object();
  const bool tracked = file.contains("source") && file["source"].is_string();
  // A semaphore's file holds a count, whoever wrote it (its creator writes it): no data.
  if (!tracked && bento::collector::posix_semaphore(path)) return "POSIX semaphores";
  // Outside the mounts, a version a recorded process wrote is data wherever it lies: a
  // payload staged in /usr/local/share or /opt, a module dropped into an interpreter's
  // site-packages, is a source, not runtime (rules 1 and 2 are for what was installed
  // before the record; rule 3 asks the same of the whole file).
  // What a program's own installation wrote into itself stays runtime (a pyenv's python
  // compiling its modules' bytecode, a virtualenv's pip installing), except in the
  // system-wide ones (/usr/: /usr/bin/cp staging a payload in /usr/local/share).
  const int64_t id = file.value("id", int64_t{0}), version = entity.value("version", int64_t{0});
  if (!tracked && file.contains("id") && written_in_record(db, id, version)) {
    for (const char* key : {"exe", "program"}) {
      const std::string prog = install_prefix(activity.value(key, ""));
      if (prog.empty() || prog == "/" || prog == "/usr/" || prog == "/usr/local/" ||
          !starts_with(path, prog))
        continue;
      if (!written_from_outside(db, id, version, prog)) return "program " + prog;
    }
    return "";
  }
  // A file the command line names, other than the script it runs (its program), is what the
  // user gave the program to work on: data, wherever it lies (`proj/bin/tool proj/data/in`,
  // `awk ... customers.csv`, `grep x /etc/passwd`). So is one its process opened for it
  // before the exec (`proj/bin/tool < proj/data/in`, `sort < /etc/passwd`).
  const bool given = given_before_exec(db, entity, activity);
  const bool named =
      (named_on_command_line(activity, path) || given) && !runs_as_script(activity, path);
  // A tracked mount holds the data the answers are about: system prefixes never fold it.
  // Nor a file named on the command line (`cut -d: -f1 /etc/passwd > users`).
  if (!tracked && !named) {
    for (const std::string& p : prefixes_)
      if (starts_with(path, p)) return p;
    if (packages_.as_shipped(path)) return "package configuration";
    if (shell_startup_file(activity, path)) return "shell startup files";
  }
  // The program as exec'd (a virtualenv's bin/python) and as resolved (the interpreter
  // that link points to).
  for (const char* key : {"exe", "program"}) {
    const std::string prog = install_prefix(activity.value(key, ""));
    if (prog.empty() || prog == "/" || !starts_with(path, prog)) continue;
    if (!tracked && !named) return "program " + prog;
    if (!tracked) continue;
    // On a tracked mount, the data lives beside the programs: its root is never an
    // installation, and under one (proj/bin/tool reading proj/data/in) a file is the
    // program's own only if the command line does not name it and nothing but the
    // installation's own programs wrote it (pip in a virtualenv; not cp, not an editor).
    if (prog == file["source"].get<std::string>() + "/") continue;
    if (named_on_command_line(activity, path) || given) continue;
    if (written_from_outside(db, id, version, prog)) continue;
    // What was there before the record counts as installed only in an interpreter's
    // environment (a virtualenv: its python a link to an interpreter elsewhere, or the
    // pyvenv.cfg it reads). Beside a program of the mount's own (proj/bin/tool, a copied
    // git reading proj/.gitconfig) it is the data the program was set up to read.
    if (!written_in_record(db, id, version) && !environment(db, activity, prog)) continue;
    return "program " + prog;
  }
  // An interpreter running a script that lies in an installation (bash
  // /root/.pyenv/libexec/pyenv, env bash X), outside the tracked mounts: the script itself,
  // installed before the record, is that wrapper's runtime. Not the files beside it: a
  // project's bin/etl.py reads its data/in.csv (the installation of a script is not known as
  // an exe's is, and its data often lies next to it).
  if (!tracked && activity.contains("argv") && activity["argv"].is_array()) {
    const json& argv = activity["argv"];
    for (size_t i = 1; i < argv.size() && i < 3; i++) {
      if (!argv[i].is_string()) continue;
      const std::string& arg = argv[i].get_ref<const std::string&>();
      const std::string script = install_prefix(arg);
      if (!script.empty() && script != "/" && arg == path) return "program " + script;
    }
  }
  if (!tracked && !named && file.contains("id") &&
      shared_configuration(db, file.value("id", 0LL), path))
    return "shared configuration";
  return "";
}

// Under chroot the jail was the process's whole system: its files are judged as it saw them
// (the jail's /usr/lib is runtime, its /bin/busybox no installation holding the jail), all
// as files outside the mounts, even where the jail lies on one.
std::string RuntimeRule::classify_in_root(bento::lineage::Database& db, const json& entity,
                                          const json& activity) {
  const std::string root = activity["root"].is_string() ? activity["root"].get<std::string>() : "";
  const std::string path = entity.value("path", "");
  if (root.empty() || root == "/" || !starts_with(path, root + "/")) return "";
  json in_jail = entity;
  in_jail["path"] = path.substr(root.size());
  if (in_jail.contains("file") && in_jail["file"].is_object()) in_jail["file"].erase("source");
  json saw = activity;
  saw.erase("root");
  for (const char* key : {"exe", "program"}) {
    const std::string p = saw.value(key, "");
    if (starts_with(p, root + "/")) saw[key] = p.substr(root.size());
  }
  std::string why = classify(db, in_jail, saw);
  if (starts_with(why, "/")) return root + why;
  if (starts_with(why, "program /")) return "program " + root + why.substr(8);
  if (starts_with(why, "modules /")) return "modules " + root + why.substr(8);
  return why;
}

bento::collector::Interpreter RuntimeRule::interpreter(const json& activity) {
  using bento::collector::Interpreter;
  if (!activity.contains("argv") || !activity["argv"].is_array() || activity["argv"].empty() ||
      !activity["argv"][0].is_string())
    return Interpreter::kNone;
  const json& argv = activity["argv"];
  const std::string exe = activity.value("exe", "");
  // By its executable: argv[0] is the caller's to choose (`exec -a python3 ./dropper`). But
  // for a `#!` script (exe is the script, argv[1] its path) the kernel put the interpreter
  // of its first line there.
  Interpreter family = bento::collector::interpreter_of("", exe);
  if (family == Interpreter::kNone && argv.size() > 1 && argv[1].is_string() &&
      bento::collector::shebang_script(argv[1].get_ref<const std::string&>(), exe))
    family = bento::collector::interpreter_of(argv[0].get_ref<const std::string&>(), "");
  if (family == Interpreter::kNone)  // a virtualenv's bin/app links to its python
    family = bento::collector::interpreter_of("", activity.value("program", ""));
  return family;
}

std::string RuntimeRule::listing(bento::lineage::Database& db, const json& entity,
                                 const json& activity) {
  if (entity.value("kind", "") != "dir") return "";
  const std::string path = entity.value("path", "");
  const std::string aid = activity.value("id", "");
  if (path.empty() || path[0] != '/' || aid.rfind("a:", 0) != 0) return "";
  const std::string dir = path.back() == '/' ? path : path + "/";
  // A listing that found what the process then read there, other than directories (a
  // glob's files, tar's, make's Makefile, git's objects, python's script and packages):
  // those files are shown, the names add nothing to them. Not what it wrote there: `ls >
  // files.txt` writes beside what it lists. Not what it read before the listing (`find
  // /etc` read /etc/locale.alias as it started): the listing cannot have found that.
  const std::string eid = entity.value("id", "");
  const int64_t listing = eid.rfind("e:", 0) == 0 ? std::stoll(eid.substr(2)) : 0;
  Stmt& q = db.cached(
      "SELECT 1 FROM used u JOIN entities e ON e.id = u.entity_id JOIN files f ON f.id = "
      "e.file_id AND f.kind != 'dir' JOIN names n ON n.file_id = e.file_id WHERE "
      "u.activity_id = ?1 AND n.path > ?2 AND n.path < ?3 AND u.time_ns >= COALESCE((SELECT "
      "l.time_ns FROM used l WHERE l.activity_id = ?1 AND l.entity_id = ?4), 0) LIMIT 1");
  q.bind(1, std::stoll(aid.substr(2)))
      .bind(2, dir)
      .bind(3, dir.substr(0, dir.size() - 1) + "0")
      .bind(4, listing);
  const bool found = has_row(q);
  if (found) return kListedToFind;
  // git keeps its repository in .git/: listing it (refs, an empty pack directory) is how it
  // works, not data it was given.
  const bool git = program_name(activity.value("exe", "")) == "git" ||
                   program_name(activity.value("program", "")) == "git";
  if (git && (path.find("/.git/") != std::string::npos || path.ends_with("/.git")))
    return "git's repository";
  return module_search(entity, activity);
}

std::string RuntimeRule::module_search(const json& entity, const json& activity) {
  // Python's import system lists each directory on its search path to find a module: the
  // script's directory (sys.path[0]: the script was read there, see listing()), or for
  // `-c`, `-m` and stdin the working directory, which the record does not keep: any
  // directory such a run lists that its command line does not name (nor its inline code,
  // by the directory's own name as a word, or as ".").
  if (interpreter(activity) != bento::collector::Interpreter::kPython ||
      !script_of(activity).empty())
    return "";
  const std::string path = entity.value("path", "");
  if (named_on_command_line(activity, path) || names_dot(activity)) return "";
  const std::string base = path.substr(path.rfind('/', path.size() - 2) + 1);
  for (const auto& arg : activity["argv"])
    if (arg.is_string() && (mentions_path(arg.get_ref<const std::string&>(), base) ||
                            mentions_path(arg.get_ref<const std::string&>(), ".")))
      return "";
  return kModuleSearch;
}

std::string RuntimeRule::program_module(bento::lineage::Database& db, const json& entity,
                                        const json& activity) {
  using bento::collector::Interpreter;
  const Interpreter family = interpreter(activity);
  if (family == Interpreter::kNone || family == Interpreter::kShell || family == Interpreter::kMake)
    return "";
  const std::string path = entity.value("path", "");
  // A tool given `.` (`python3 fmt.py .`, `python3 backup.py .`) works on what lies there.
  if (names_dot(activity)) return "";
  // A package directory holds the packages a package manager installed: everything the
  // interpreter reads there (package.json, a certifi bundle) is its program's.
  std::string dir;
  for (const char* marker : {"/node_modules/", "/site-packages/", "/dist-packages/"}) {
    const bool node = marker[1] == 'n';  // node_modules is node's, the others python's
    if ((family == Interpreter::kNode) != node || (!node && family != Interpreter::kPython))
      continue;
    if (size_t at = path.find(marker);
        at != std::string::npos && (dir.empty() || at + std::strlen(marker) < dir.size()))
      dir = path.substr(0, at + std::strlen(marker));
  }
  // Beside the script it runs, only what the language loads as code: its data lie there too.
  // Not a script at a mount's root or at `/` (every module-like file there would be its).
  const json& file = entity.contains("file") ? entity["file"] : json::object();
  const std::string mount_root = file.contains("source") && file["source"].is_string()
                                     ? file["source"].get<std::string>() + "/"
                                     : "";
  if (dir.empty() && bento::collector::module_file(family, path))
    for (const std::string& d : script_dirs(db, activity))
      if (d != "/" && d != mount_root && starts_with(path, d) && d.size() > dir.size()) dir = d;
  if (dir.empty()) return "";
  if (path == activity.value("exe", "") || path == activity.value("program", "") ||
      runs_as_script(activity, path) ||
      module_root(path, python_module(activity)) != std::string::npos ||
      named_on_command_line(activity, path) || under_named_directory(activity, path) ||
      given_before_exec(db, entity, activity))
    return "";
  // Changed in the record by anything but a package manager, it is shown with its writer:
  // a module an attacker or an editor rewrote is what an answer must not hide. Nor is one
  // this run wrote itself (a formatter rewriting the sources it read).
  const int64_t id = file.value("id", int64_t{0}), version = entity.value("version", int64_t{0});
  if (id == 0 || wrote_file(db, activity, id)) return "";
  if (!written_in_record(db, id, version)) return "modules " + dir;
  const std::string source = family == Interpreter::kPython ? bytecode_source(path) : "";
  const std::optional<std::string> by = installed_by(db, id, version, source, dir);
  if (!by) return "";
  // Installed in the record: said, with the command (a typosquatted package's install).
  return "modules " + dir + (by->empty() ? "" : " installed by " + *by);
}

bool RuntimeRule::names_dot(const json& activity) {
  if (!activity.contains("argv") || !activity["argv"].is_array()) return false;
  for (size_t i = 1; i < activity["argv"].size(); i++)
    if (activity["argv"][i] == "." || activity["argv"][i] == "./") return true;
  return false;
}

bool RuntimeRule::wrote_file(bento::lineage::Database& db, const json& activity, int64_t file_id) {
  const std::string aid = activity.value("id", "");
  if (aid.rfind("a:", 0) != 0) return false;
  Stmt& q = db.cached(
      "SELECT 1 FROM generated g JOIN entities e ON e.id = g.entity_id WHERE g.activity_id = ? "
      "AND e.file_id = ? LIMIT 1");
  q.bind(1, std::stoll(aid.substr(2))).bind(2, file_id);
  return has_row(q);
}

const std::vector<std::string>& RuntimeRule::script_dirs(bento::lineage::Database& db,
                                                         const json& activity) {
  const std::string aid = activity.value("id", "");
  auto [it, fresh] = script_dirs_.try_emplace(aid);
  if (!fresh || aid.rfind("a:", 0) != 0) return it->second;
  const std::string script = script_of(activity), module = python_module(activity);
  if (script.empty() && module.empty()) return it->second;
  // The paths it read that its script argument names (`run.py` is /mnt/papp/run.py), or
  // the module `-m` runs (`app.etl`: app/etl.py, app/etl/__main__.py, or its bytecode
  // app/__pycache__/etl.*.pyc), whose package lies in the directory it was run from.
  const std::string tail = script.empty() ? "" : script[0] == '/' ? script : "/" + script;
  Stmt& q = db.cached(
      "SELECT DISTINCT n.path FROM used u JOIN entities e ON e.id = u.entity_id JOIN names n ON "
      "n.file_id = e.file_id WHERE u.activity_id = ?");
  q.bind(1, std::stoll(aid.substr(2)));
  while (q.step()) {
    const std::string p = q.text(0);
    if (!script.empty()) {
      if (p.ends_with(tail) && bento::collector::names_file(p, script))
        it->second.push_back(p.substr(0, p.rfind('/') + 1));
    } else if (const size_t root = module_root(p, module); root != std::string::npos) {
      it->second.push_back(p.substr(0, root));
    }
  }
  q.reset();
  return it->second;
}

std::string RuntimeRule::python_module(const json& activity) {
  if (!activity.contains("argv") || !activity["argv"].is_array()) return "";
  const json& argv = activity["argv"];
  if (argv.empty() || !argv[0].is_string() ||
      bento::collector::interpreter_of(argv[0].get<std::string>(), activity.value("exe", "")) !=
          bento::collector::Interpreter::kPython)
    return "";
  for (size_t i = 1; i < argv.size(); i++) {
    if (!argv[i].is_string()) return "";
    const std::string& arg = argv[i].get_ref<const std::string&>();
    std::string module;
    if (arg == "-m" && i + 1 < argv.size() && argv[i + 1].is_string())
      module = argv[i + 1].get<std::string>();
    else if (arg.size() > 2 && arg.starts_with("-m"))
      module = arg.substr(2);
    else if (arg.empty() || arg[0] != '-')
      return "";  // a script, or the end of its options
    else
      continue;
    const bool name = !module.empty() && module.find_first_not_of(
                                             "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                             "0123456789_.") == std::string::npos;
    return name && module[0] != '.' ? module : "";
  }
  return "";
}

size_t RuntimeRule::module_root(const std::string& path, const std::string& module) {
  if (module.empty()) return std::string::npos;
  std::string rel = module;
  std::replace(rel.begin(), rel.end(), '.', '/');
  const size_t slash = rel.rfind('/');
  const std::string pkg = slash == std::string::npos ? "" : rel.substr(0, slash + 1);
  for (const std::string& tail : {"/" + rel + ".py", "/" + rel + "/__main__.py"})
    if (path.ends_with(tail)) return path.size() - tail.size() + 1;
  // Its bytecode: app/__pycache__/etl.cpython-311.pyc.
  const std::string cached = "/" + pkg + "__pycache__/" + rel.substr(slash + 1) + ".";
  const size_t at = path.rfind(cached);
  if (at == std::string::npos || !path.ends_with(".pyc") ||
      path.find('/', at + cached.size()) != std::string::npos)
    return std::string::npos;
  return at + 1;
}

std::optional<std::string> RuntimeRule::installed_by(bento::lineage::Database& db, int64_t file_id,
                                                     int64_t version, const std::string& source,
                                                     const std::string& install) {
  const auto key = std::make_tuple(file_id, version, install);
  if (auto it = installed_.find(key); it != installed_.end()) return it->second;
  installed_[key] = std::nullopt;  // a bytecode's source that is bytecode: not twice
  Stmt& q = db.cached(
      "SELECT a.id, a.exe, a.argv FROM entities e JOIN generated g ON g.entity_id = e.id JOIN "
      "activities a ON a.id = g.activity_id WHERE e.file_id = ? AND e.version <= ? ORDER BY "
      "g.time_ns");
  q.bind(1, file_id).bind(2, version);
  std::vector<std::tuple<int64_t, std::string, std::string>> writers;
  while (q.step())
    writers.emplace_back(q.int64(0), q.is_null(1) ? "" : q.text(1), q.is_null(2) ? "" : q.text(2));
  q.reset();
  std::optional<std::string> by = std::string();
  for (const auto& [aid, exe, argv] : writers) {
    auto trusted = [&](std::string_view path) { return trusted_program(db, std::string(path)); };
    if (package_manager(exe, argv, trusted)) {
      by = command_text(argv);
      continue;
    }
    // Bytecode python compiled: the run that wrote it (a python known by its executable,
    // not one the record made) read its module's source, versions that themselves pass
    // (nothing but a package manager changed them in the record).
    const bool python =
        !source.empty() &&
        bento::collector::interpreter_of("", exe) == bento::collector::Interpreter::kPython &&
        trusted_program(db, exe);
    const auto reads =
        python ? read_versions(db, aid, source) : std::vector<std::pair<int64_t, int64_t>>();
    if (reads.empty()) return installed_[key] = std::nullopt;
    for (const auto& [src_file, src_version] : reads) {
      if (!written_in_record(db, src_file, src_version)) continue;
      const auto src = installed_by(db, src_file, src_version, "", install);
      if (!src) return installed_[key] = std::nullopt;
      if (!src->empty()) by = *src;
    }
  }
  return installed_[key] = by;
}

std::vector<std::pair<int64_t, int64_t>> RuntimeRule::read_versions(bento::lineage::Database& db,
                                                                    int64_t activity_id,
                                                                    const std::string& path) {
  Stmt& q = db.cached(
      "SELECT DISTINCT e.file_id, e.version FROM used u JOIN entities e ON e.id = u.entity_id "
      "JOIN names n ON n.file_id = e.file_id WHERE u.activity_id = ? AND n.path = ?");
  q.bind(1, activity_id).bind(2, path);
  std::vector<std::pair<int64_t, int64_t>> read;
  while (q.step()) read.emplace_back(q.int64(0), q.int64(1));
  q.reset();
  return read;
}

bool RuntimeRule::trusted_program(bento::lineage::Database& db, const std::string& path) {
  if (path.empty() || path[0] != '/') return false;
  for (const char* scratch : {"/tmp/", "/var/tmp/", "/dev/shm/"})
    if (starts_with(path, scratch)) return false;
  auto [it, fresh] = trusted_.try_emplace(path, false);
  if (!fresh) return it->second;
  // Nothing in the record wrote it: a pip or a python dropped during the incident is not.
  Stmt& q = db.cached(
      "SELECT 1 FROM names n JOIN entities e ON e.file_id = n.file_id JOIN generated g ON "
      "g.entity_id = e.id WHERE n.path = ? LIMIT 1");
  q.bind(1, path);
  return it->second = !has_row(q);
}

bool RuntimeRule::under_named_directory(const json& activity, const std::string& path) {
  if (!activity.contains("argv") || !activity["argv"].is_array()) return false;
  const json& argv = activity["argv"];
  for (size_t i = 1; i < argv.size(); i++) {
    if (!argv[i].is_string()) continue;
    std::string arg = argv[i].get<std::string>();
    // An option's value names a search path, not what it works on (`ruby -I lib app.rb`).
    if (arg.empty() || arg[0] == '-' || (argv[i - 1].is_string() && argv[i - 1] == "-I")) continue;
    while (starts_with(arg, "./")) arg.erase(0, 2);
    while (arg.size() > 1 && arg.back() == '/') arg.pop_back();
    if (arg.empty() || arg == "." || arg == ".." || arg == "/") continue;
    if (arg[0] == '/' ? starts_with(path, arg + "/")
                      : path.find("/" + arg + "/") != std::string::npos)
      return true;
  }
  return false;
}

bool RuntimeRule::named_on_command_line(const json& activity, const std::string& path) {
  if (!activity.contains("argv") || !activity["argv"].is_array()) return false;
  const json& argv = activity["argv"];
  for (size_t i = 1; i < argv.size(); i++) {
    if (!argv[i].is_string()) continue;
    std::string arg = argv[i].get<std::string>();
    while (starts_with(arg, "./")) arg.erase(0, 2);
    if (arg.empty()) continue;
    if (arg[0] == '/' ? arg == path
                      : path.size() > arg.size() &&
                            path.compare(path.size() - arg.size(), arg.size(), arg) == 0 &&
                            path[path.size() - arg.size() - 1] == '/')
      return true;
    if (!path.empty() && path[0] == '/' && mentions_path(arg, path)) return true;
  }
  return false;
}

bool RuntimeRule::environment(bento::lineage::Database& db, const json& activity,
                              const std::string& install) {
  const std::string exe = activity.value("exe", ""), program = activity.value("program", "");
  if (starts_with(exe, install) && !program.empty() && program != exe &&
      !starts_with(program, install))
    return true;
  const std::string aid = activity.value("id", "");
  if (aid.rfind("a:", 0) != 0) return false;
  Stmt& q = db.cached(
      "SELECT 1 FROM used u JOIN entities e ON e.id = u.entity_id JOIN names n ON n.file_id = "
      "e.file_id WHERE u.activity_id = ? AND n.path = ? LIMIT 1");
  q.bind(1, std::stoll(aid.substr(2))).bind(2, install + "pyvenv.cfg");
  return has_row(q);
}

bool RuntimeRule::opened_to_exec(bento::lineage::Database& db, const json& entity,
                                 const json& activity) {
  const std::string eid = entity.value("id", ""), aid = activity.value("id", "");
  if (eid.rfind("e:", 0) != 0 || aid.rfind("a:", 0) != 0) return false;
  Stmt& q = db.cached(
      "SELECT 1 FROM used mine JOIN activities me ON me.id = mine.activity_id JOIN activities a "
      "ON a.process_id = me.process_id AND a.start_ns > me.start_ns JOIN used u ON "
      "u.activity_id = a.id AND u.entity_id = mine.entity_id WHERE mine.activity_id = ?1 AND "
      "mine.entity_id = ?2 AND mine.how = 'open' AND u.how = 'program' LIMIT 1");
  q.bind(1, std::stoll(aid.substr(2))).bind(2, std::stoll(eid.substr(2)));
  return has_row(q);
}

bool RuntimeRule::given_before_exec(bento::lineage::Database& db, const json& entity,
                                    const json& activity) {
  const std::string eid = entity.value("id", ""), aid = activity.value("id", "");
  if (eid.rfind("e:", 0) != 0 || aid.rfind("a:", 0) != 0) return false;
  // Not the program's own executable: the exec opens it in the image before.
  const std::string path = entity.value("path", "");
  if (path == activity.value("exe", "") || path == activity.value("program", "")) return false;
  // It read it on its stdin, a file it had there at the exec (the collector marks the read:
  // how 'stdin'); or this image read it through what an earlier one only opened, or this
  // image only opened it for a later one that read it (the shell's side of `< file`).
  Stmt& q = db.cached(
      "SELECT 1 FROM used WHERE activity_id = ?1 AND entity_id = ?2 AND how = 'stdin' UNION ALL "
      "SELECT 1 FROM used u JOIN activities a ON a.id = u.activity_id JOIN activities me ON "
      "me.id = ?1 JOIN used mine ON mine.activity_id = me.id AND mine.entity_id = ?2 WHERE "
      "u.entity_id = ?2 AND a.process_id = me.process_id AND a.id != me.id AND "
      "((a.start_ns < me.start_ns AND u.how = 'open') OR "
      "(a.start_ns > me.start_ns AND mine.how = 'open' AND u.how NOT IN ('open', 'program'))) "
      "LIMIT 1");
  q.bind(1, std::stoll(aid.substr(2))).bind(2, std::stoll(eid.substr(2)));
  return has_row(q);
}

bool RuntimeRule::runs_as_script(const json& activity, const std::string& path) {
  const std::string script = script_of(activity);
  return !script.empty() && bento::collector::names_file(path, script);
}

std::string RuntimeRule::script_of(const json& activity) {
  return program_script(activity.contains("argv") ? activity["argv"] : json::array(),
                        activity.value("exe", ""));
}

bool RuntimeRule::written_from_outside(bento::lineage::Database& db, int64_t file_id,
                                       int64_t version, const std::string& install) {
  const auto key = std::make_tuple(file_id, version, install);
  if (auto it = written_outside_.find(key); it != written_outside_.end()) return it->second;
  Stmt& q = db.cached(
      "SELECT a.exe, a.program, a.argv FROM entities e JOIN generated g ON g.entity_id = e.id "
      "JOIN activities a ON a.id = g.activity_id WHERE e.file_id = ? AND e.version <= ?");
  q.bind(1, file_id).bind(2, version);
  bool outside = false;
  while (!outside && q.step()) {
    const bool own = (!q.is_null(0) && in_installation(q.text(0), install)) ||
                     (!q.is_null(1) && in_installation(q.text(1), install)) ||
                     (!q.is_null(2) && made_virtualenv(q.text(2), install));
    outside = !own;
  }
  q.reset();
  return written_outside_[key] = outside;
}

bool RuntimeRule::written_in_record(bento::lineage::Database& db, int64_t file_id,
                                    int64_t version) {
  const auto key = std::make_pair(file_id, version);
  if (auto it = written_.find(key); it != written_.end()) return it->second;
  Stmt& q = db.cached(
      "SELECT 1 FROM entities e JOIN generated g ON g.entity_id = e.id WHERE "
      "e.file_id = ? AND e.version <= ? LIMIT 1");
  q.bind(1, file_id).bind(2, version);
  return written_[key] = q.step();
}

bool RuntimeRule::shared_configuration(bento::lineage::Database& db, int64_t file_id,
                                       const std::string& path) {
  if (auto it = shared_.find(file_id); it != shared_.end()) return it->second;
  bool shared = false;
  Stmt& written = db.cached(
      "SELECT 1 FROM entities e JOIN generated g ON g.entity_id = e.id WHERE "
      "e.file_id = ? LIMIT 1");
  written.bind(1, file_id);
  if (!written.step()) {
    // Configuration is read without being asked for; a file that programs are given on
    // their command line (`wc -l f`, `md5sum f`, `awk ... f`) is what they work on: data,
    // however many of them read it.
    Stmt& readers = db.cached(
        "SELECT DISTINCT a.exe, a.argv FROM entities e JOIN used u ON u.entity_id = e.id "
        "JOIN activities a ON a.id = u.activity_id WHERE e.file_id = ? LIMIT 10000");
    readers.bind(1, file_id);
    std::set<std::string> programs;
    while (readers.step() && static_cast<int>(programs.size()) < many_programs_) {
      json act = json::object();
      if (!readers.is_null(1)) act["argv"] = json::parse(readers.text(1), nullptr, false);
      if (!named_on_command_line(act, path))
        programs.insert(readers.is_null(0) ? "" : readers.text(0));
    }
    readers.reset();
    shared = static_cast<int>(programs.size()) >= many_programs_;
  }
  written.reset();
  return shared_[file_id] = shared;
}

}  // namespace prov_cli

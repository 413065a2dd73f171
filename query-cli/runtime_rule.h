// Which reads are a program's runtime rather than its data (LINEAGE.md "Short answers"):
// the default `prov why` folds them into one counted line per process; `--all` lists them.
// The rule looks at paths and at the database, never at a file name's shape:
//   1. a path outside the tracked mounts under a system prefix (default_prefixes();
//      --runtime-prefix adds one, BENTO_PROV_RUNTIME_PREFIXES (':'-separated) replaces them),
//      unless the command line names it (other than as the script it runs);
//   2. a path under the reading program's own installation: the directory above the
//      `bin`, `sbin`, `libexec` or `shims` directory its executable lives in (a pyenv
//      version, a virtualenv, /opt/tool) — never a home directory (/root/, /home/USER/) nor a
//      tracked mount's root itself, and on a
//      tracked mount only for files the command line does not name and that only the
//      installation's own programs wrote; outside the mounts, not a file the command line
//      names other than its script — or, outside the tracked mounts, the script an
//      interpreter runs itself when it lies in such a directory (an absolute path among
//      argv[1..2]: `bash /root/.pyenv/libexec/pyenv`), not the files beside it;
//   3. a file outside the tracked mounts that nothing recorded ever wrote and that at least
//      `many_programs` distinct programs read without naming it on their command line, nor
//      does the reader (shared configuration such as ~/.gitconfig);
//   4. a module of an interpreter's program: what node reads from `node_modules/`, python
//      from `site-packages/` or `dist-packages/`, or what python, node, ruby, perl, php,
//      lua, tclsh or Rscript read with its language's module extension under the
//      directory of the script it runs (`proj/lib/mypkg/m1.py` for `python3 proj/run.py`;
//      for `python3 -m app.etl` the directory app/ lies in; never `/` nor a mount's root),
//      when the command line names neither it, a directory above it, nor `.`, it was not
//      given on stdin, the run did not write it, and nothing but a package manager
//      installing (known by its executable, trusted_program()) or, for bytecode in
//      `__pycache__/`, such a python compiling a module that passes the same test, wrote it
//      in the record ("modules DIR/ installed by CMD").
//   5. outside the tracked mounts, a configuration file a Debian package shipped whose
//      content is as shipped (package_config.h: dpkg's MD5 of it matches the file now), not
//      named on the command line ("package configuration": java's java.security, ssh's
//      ssh_config, wget's wgetrc); one changed since it was installed stays data;
//   5b. outside the tracked mounts, a POSIX semaphore (/dev/shm/sem.*, posix_semaphore.h),
//      whoever wrote it: a count, no data ("POSIX semaphores");
//   6. outside the tracked mounts, a shell's startup files read by a shell, not named on
//      its command line (/etc/profile, /etc/profile.d/*, ~/.bashrc, ~/.profile, zsh's:
//      "shell startup files"). Neither rule folds a version the record saw written.
//   7. a directory listed (record format 4) where the process read a file below it, by git in its
//   repository, or by python without a script in a directory
//      its command line does not name (its working directory's module search).
// A version outside the mounts that a recorded process wrote (or an earlier version of the
// same file) is not runtime: rules 1 and 2 are about what was installed before. Except
// what only a program's own installation wrote into itself (not /usr/ or /usr/local/): a
// pyenv's python writing its modules' bytecode, a virtualenv's pip (rule 2 as on a mount).
// A process under chroot is judged with the paths it saw (its root stripped), as outside the
// mounts. Pipes, sockets and network endpoints are never runtime.
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "bento/lineage/database.h"
#include "package_config.h"
#include "script_rule.h"

namespace prov_cli {

class RuntimeRule {
 public:
  RuntimeRule();
  static std::vector<std::string> default_prefixes();

  void add_prefix(const std::string& p) { prefixes_.push_back(p); }
  void set_prefixes(std::vector<std::string> p) { prefixes_ = std::move(p); }
  const std::vector<std::string>& prefixes() const { return prefixes_; }
  void set_many_programs(int n) { many_programs_ = n; }
  int many_programs() const { return many_programs_; }

  // classify()'s answer for the exec'ing image's open of the program a later image ran: no
  // read, so answers neither list nor count it.
  static constexpr const char* kExecOpen = "exec of its next program";
  // Rule 7's answers: a directory listed by a process that read files under it, and one
  // python listed to find the modules it imports.
  static constexpr const char* kListedToFind = "listings of directories it read files in";
  static constexpr const char* kModuleSearch = "python's module search";

  // Why `entity` (the native JSON of JSON.md) is runtime for `activity`: the prefix it
  // falls under ("/usr/", "program /root/.pyenv/versions/3.11.7/", "shared configuration"),
  // or "" when it is data.
  std::string classify(bento::lineage::Database& db, const nlohmann::json& entity,
                       const nlohmann::json& activity);

  // The installation directories of a program path (rule 2), "" when it has none.
  static std::string install_prefix(const std::string& program_path);

  // The module a python activity runs with `-m` (`app.etl`), "" for none.
  static std::string python_module(const nlohmann::json& activity);
  // Where the root of the package `path` is `module`'s file lies (`app.etl`: app/etl.py,
  // app/etl/__main__.py or app/__pycache__/etl.*.pyc; the index after the '/' before app),
  // std::string::npos when `path` is not that module's.
  static size_t module_root(const std::string& path, const std::string& module);

 private:
  // Rules 1 to 3 (classify() adds rule 4).
  std::string installed_or_shared(bento::lineage::Database& db, const nlohmann::json& entity,
                                  const nlohmann::json& activity);
  // Rule 3: at least many_programs_ distinct programs read the file without naming it on
  // their command line (`path`: the name it is asked by).
  bool shared_configuration(bento::lineage::Database& db, int64_t file_id, const std::string& path);
  // classify() for a process under chroot (its activity's "root"), with the paths it saw.
  std::string classify_in_root(bento::lineage::Database& db, const nlohmann::json& entity,
                               const nlohmann::json& activity);
  // Rule 2 on a tracked mount: the command line names the file (argv[1..], as given or
  // relative to some directory, or its absolute path a word of an argument: inline code,
  // `python3 -c 'open("/etc/group")'`); a program outside `install` wrote this version or
  // an earlier one.
  static bool named_on_command_line(const nlohmann::json& activity, const std::string& path);
  // Whether the activity only opened this version for the exec of a later image of its
  // process, which ran it as its program (the kernel's open of the executable, which a file
  // system on the mount logs as the exec'ing image's open): the exec, not data.
  bool opened_to_exec(bento::lineage::Database& db, const nlohmann::json& entity,
                      const nlohmann::json& activity);
  // Whether an image of the activity's process before its exec opened this version without
  // reading it, so that the activity read it through the handle it was given (a shell's
  // `< file`), or the activity is that image: the file was handed to the program as its
  // data.
  bool given_before_exec(bento::lineage::Database& db, const nlohmann::json& entity,
                         const nlohmann::json& activity);
  // Whether `install` (on a tracked mount) is an interpreter's environment for the activity:
  // its executable there links to a program elsewhere, or it read install/pyvenv.cfg.
  bool environment(bento::lineage::Database& db, const nlohmann::json& activity,
                   const std::string& install);
  // Rule 4: "modules DIR/" when the file is a module of the activity's program, else "".
  std::string program_module(bento::lineage::Database& db, const nlohmann::json& entity,
                             const nlohmann::json& activity);
  // Rule 7: why a directory's listing is runtime (kListedToFind, "git's repository",
  // module_search's), else "".
  std::string listing(bento::lineage::Database& db, const nlohmann::json& entity,
                      const nlohmann::json& activity);
  // "python's module search" when the directory is one python listed to find the modules
  // it imports, else "".
  std::string module_search(const nlohmann::json& entity, const nlohmann::json& activity);
  // The interpreter the activity runs, by its executable (a `#!` script's by its first
  // line's program, a virtualenv's link by what it points to).
  static bento::collector::Interpreter interpreter(const nlohmann::json& activity);
  // The directories of the script the activity runs (the paths it read that its script
  // argument names), or for `python3 -m app.etl` the one app/ lies in, each with its
  // trailing '/'.
  const std::vector<std::string>& script_dirs(bento::lineage::Database& db,
                                              const nlohmann::json& activity);
  // Whether only package managers installing into `install` wrote this version of the file
  // or an earlier one, or, for bytecode (`source`: its module's path, else ""), python runs
  // that read a version of that module that passes the same test: then the last such
  // command ("" when nothing in the record wrote it), else nullopt.
  std::optional<std::string> installed_by(bento::lineage::Database& db, int64_t file_id,
                                          int64_t version, const std::string& source,
                                          const std::string& install);
  // The versions of the file by this name the activity read: (file id, version).
  std::vector<std::pair<int64_t, int64_t>> read_versions(bento::lineage::Database& db,
                                                         int64_t activity_id,
                                                         const std::string& path);
  // Whether the program at `path` can be taken for what it is named: an absolute path, not
  // in a scratch directory, that nothing in the record wrote.
  bool trusted_program(bento::lineage::Database& db, const std::string& path);
  // Whether the activity wrote some version of the file.
  bool wrote_file(bento::lineage::Database& db, const nlohmann::json& activity, int64_t file_id);
  // Whether its command line gives it `.` (`python3 fmt.py .`).
  static bool names_dot(const nlohmann::json& activity);
  // Whether the command line names a directory `path` lies under (`black src/`).
  static bool under_named_directory(const nlohmann::json& activity, const std::string& path);
  // The script argument the activity's interpreter runs (script_rule.h), "" for none.
  static std::string script_of(const nlohmann::json& activity);
  // Whether `path` is the script the activity's interpreter runs.
  static bool runs_as_script(const nlohmann::json& activity, const std::string& path);
  bool written_from_outside(bento::lineage::Database& db, int64_t file_id, int64_t version,
                            const std::string& install);
  // Whether a recorded process wrote this version of the file or an earlier one.
  bool written_in_record(bento::lineage::Database& db, int64_t file_id, int64_t version);

  std::vector<std::string> prefixes_;
  int many_programs_ = 5;
  std::map<int64_t, bool> shared_;                       // file -> rule 3's verdict
  PackageConfiguration packages_;                        // rule 5
  std::map<std::pair<int64_t, int64_t>, bool> written_;  // (file, version) -> written
  std::map<std::tuple<int64_t, int64_t, std::string>, bool> written_outside_;
  std::map<std::tuple<int64_t, int64_t, std::string>, std::optional<std::string>> installed_;
  std::map<std::string, std::vector<std::string>> script_dirs_;  // activity id -> dirs
  std::map<std::string, bool> trusted_;                          // program path -> trusted
};

}  // namespace prov_cli

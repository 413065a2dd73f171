// Which file a process image runs as its program's script (query-cli/LINEAGE.md, "The
// program"): the collector stores an interpreter's read of it for the images that started
// a kept activity, and `prov` lists it under them. Shared by both, like file_identity.h.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace bento::collector {

// argv[1] without leading "./" (the form `sh ./x` and a `#!` exec pass it in).
inline std::string_view script_path_argument(std::string_view argv1) {
  while (argv1.size() > 2 && argv1.substr(0, 2) == "./") argv1.remove_prefix(2);
  return argv1;
}

// Whether `path` (absolute) is the file argv[1] names: as given, or as its tail when
// relative (`sh run.sh` opens /work/run.sh).
inline bool names_file(std::string_view path, std::string_view arg) {
  if (arg.empty()) return false;
  if (path == arg) return true;
  return arg[0] != '/' && path.size() > arg.size() &&
         path.substr(path.size() - arg.size()) == arg && path[path.size() - arg.size() - 1] == '/';
}

// A `#!` script: the kernel runs its interpreter with the script's path as argv[1], the
// path that was exec'd (`exe`, made absolute).
inline bool shebang_script(std::string_view argv1, std::string_view exe) {
  return names_file(exe, script_path_argument(argv1));
}

// A program that runs its argv[1] as a script: a `#!` script's interpreter, or one named
// as a shell or script interpreter (basename, version digits dropped: python3.11 is
// python). `python3 -m mod`, `bash -c '...'`: no script file.
inline std::string script_argument(std::string_view argv0, std::string_view argv1,
                                   std::string_view exe) {
  if (argv1.empty() || argv1[0] == '-') return "";
  const std::string_view arg = script_path_argument(argv1);
  if (shebang_script(argv1, exe)) return std::string(arg);
  auto base = [](std::string_view p) {
    p = p.substr(p.rfind('/') + 1);
    while (!p.empty() && (p.back() == '.' || (p.back() >= '0' && p.back() <= '9')))
      p.remove_suffix(1);
    return p;
  };
  for (std::string_view name : {base(argv0), base(exe)})
    for (std::string_view known :
         {"sh",   "bash", "dash",   "zsh",    "ksh",     "mksh", "ash",  "yash",
          "fish", "csh",  "tcsh",   "python", "perl",    "ruby", "node", "nodejs",
          "php",  "lua",  "luajit", "tclsh",  "Rscript", "pwsh", "deno", "bun"})
      if (name == known) return std::string(arg);
  return "";
}

// A shell or script interpreter (by name, as script_argument) given no script and no
// command: it runs what its stdin holds (`curl URL | sh`, `python3 - < x.py`, `sh -s`).
// args: argv[1..].
inline bool runs_stdin(std::string_view argv0, std::string_view exe,
                       const std::vector<std::string_view>& args) {
  auto base = [](std::string_view p) {
    p = p.substr(p.rfind('/') + 1);
    while (!p.empty() && (p.back() == '.' || (p.back() >= '0' && p.back() <= '9')))
      p.remove_suffix(1);
    return p;
  };
  bool interpreter = false, shell = false;
  for (std::string_view name : {base(argv0), base(exe)}) {
    for (std::string_view known : {"sh", "bash", "dash", "zsh", "ksh", "mksh", "ash", "yash"})
      if (name == known) interpreter = shell = true;
    for (std::string_view known : {"python", "perl", "ruby", "node", "nodejs", "php", "lua"})
      if (name == known) interpreter = true;
  }
  if (!interpreter) return false;
  for (std::string_view arg : args) {
    if (arg == "-" || arg == "-s") return true;
    if (arg.empty() || arg[0] != '-') return false;  // a script file (or the -c command)
    if (arg.substr(0, 2) == "--") continue;          // --norc, --login ...
    // A command in the arguments: sh -c / -ec, python -c / -m, perl/ruby/node -e.
    if ((shell && arg.find('c') != std::string_view::npos) || arg.substr(0, 2) == "-c" ||
        arg.substr(0, 2) == "-m" || arg.substr(0, 2) == "-e" || arg.substr(0, 2) == "-E" ||
        arg.substr(0, 2) == "-r")
      return false;
  }
  return true;
}

}  // namespace bento::collector

// Which input a process image runs as its program, beside its executable (query-cli/
// LINEAGE.md, "The program"): the script a shell or script interpreter was given, or its
// stdin. The collector stores an interpreter's read of it for the images that started a
// kept activity, and `prov` lists it under them. Shared by both, like file_identity.h.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace bento::collector {

// Whether `path` (absolute) is the file an argument names: as given, or as its tail when
// relative (`sh run.sh` opens /work/run.sh; `./run.sh` is run.sh).
inline bool names_file(std::string_view path, std::string_view arg) {
  while (arg.size() > 2 && arg.substr(0, 2) == "./") arg.remove_prefix(2);
  if (arg.empty()) return false;
  if (path == arg) return true;
  return arg[0] != '/' && path.size() > arg.size() &&
         path.substr(path.size() - arg.size()) == arg && path[path.size() - arg.size() - 1] == '/';
}

// A `#!` script: the kernel runs its interpreter with the script's path as argv[1], the
// path that was exec'd (`exe`, made absolute).
inline bool shebang_script(std::string_view argv1, std::string_view exe) {
  return names_file(exe, argv1);
}

// The interpreter a program is, by its name (basename, version digits dropped: python3.11 is
// python), as exec'd or as its executable; kNone for other programs.
enum class Interpreter { kNone, kShell, kPython, kPerl, kRuby, kNode, kPhp, kMake, kOther };

inline Interpreter interpreter_of(std::string_view argv0, std::string_view exe) {
  auto base = [](std::string_view p) {
    p = p.substr(p.rfind('/') + 1);
    while (!p.empty() && (p.back() == '.' || (p.back() >= '0' && p.back() <= '9')))
      p.remove_suffix(1);
    return p;
  };
  for (std::string_view name : {base(argv0), base(exe)}) {
    for (std::string_view known :
         {"sh", "bash", "dash", "zsh", "ksh", "mksh", "ash", "yash", "fish", "csh", "tcsh"})
      if (name == known) return Interpreter::kShell;
    if (name == "python") return Interpreter::kPython;
    if (name == "perl") return Interpreter::kPerl;
    if (name == "ruby") return Interpreter::kRuby;
    if (name == "node" || name == "nodejs") return Interpreter::kNode;
    if (name == "php") return Interpreter::kPhp;
    if (name == "make" || name == "gmake" || name == "bmake") return Interpreter::kMake;
    for (std::string_view known : {"lua", "luajit", "tclsh", "Rscript", "pwsh", "deno", "bun"})
      if (name == known) return Interpreter::kOther;
  }
  return Interpreter::kNone;
}

// Whether `path` has the extension of a module the interpreter loads as code (`import`,
// `require`, `use`): python's sources and bytecode, node's scripts and addons, ruby's,
// perl's, php's and lua's sources. Shells and make load no modules; data formats (.json,
// .yaml) are never modules, whoever reads them.
inline bool module_file(Interpreter family, std::string_view path) {
  const size_t slash = path.rfind('/'), dot = path.rfind('.');
  if (dot == std::string_view::npos || (slash != std::string_view::npos && dot < slash))
    return false;
  const std::string_view ext = path.substr(dot);
  switch (family) {
    case Interpreter::kPython:
      return ext == ".py" || ext == ".pyc";
    case Interpreter::kNode:
      return ext == ".js" || ext == ".mjs" || ext == ".cjs" || ext == ".node";
    case Interpreter::kRuby:
      return ext == ".rb";
    case Interpreter::kPerl:
      return ext == ".pm" || ext == ".pl";
    case Interpreter::kPhp:
      return ext == ".php" || ext == ".inc";
    case Interpreter::kOther:
      return ext == ".lua" || ext == ".tcl" || ext == ".R";
    default:
      return false;
  }
}

struct ProgramInput {
  enum Kind { kNone, kScript, kStdin } kind = kNone;
  std::string script;  // kScript: the argument naming it, "./" dropped
};

// args: argv[1..]. A `#!` script's interpreter runs the script the kernel passes as
// argv[1] (argv[2] after the one option string a `#!` line may give). A program named as
// a shell or script interpreter (basename, version digits dropped: python3.11 is python)
// runs its first argument that is no option (`bash -x job.sh`, `python3 -u job.py`),
// skipping the values of its options that take one; given none, its stdin (`curl URL |
// sh`, `sh -s`, `python3 -`); given a command instead (`sh -c`, `sh -ec`, `python3 -c`/`-m`,
// `perl -e`, `ruby -e`, `node -e`/`-p`, `php -r`), nothing of a file. make runs its
// makefile (`-f FILE`, else `Makefile`).
inline ProgramInput program_input(std::string_view argv0, std::string_view exe,
                                  const std::vector<std::string_view>& args) {
  auto named = [](std::string_view arg) {
    while (arg.size() > 2 && arg.substr(0, 2) == "./") arg.remove_prefix(2);
    return ProgramInput{ProgramInput::kScript, std::string(arg)};
  };
  for (size_t i = 0; i < args.size() && i < 2; i++) {
    if (!args[i].empty() && args[i][0] != '-' && shebang_script(args[i], exe))
      return named(args[i]);
    if (args[i].empty() || args[i][0] != '-') break;  // only one option string before it
  }
  using enum Interpreter;
  const Interpreter family = interpreter_of(argv0, exe);
  if (family == kNone) return {};
  if (family == kMake) {  // its makefile: -f FILE, else the Makefile in its directory
    for (size_t i = 0; i < args.size(); i++) {
      const std::string_view arg = args[i];
      if ((arg == "-f" || arg == "--file" || arg == "--makefile") && i + 1 < args.size())
        return named(args[i + 1]);
      for (std::string_view with : {"--file=", "--makefile=", "-f"})
        if (arg.size() > with.size() && arg.substr(0, with.size()) == with)
          return named(arg.substr(with.size()));
    }
    return named("Makefile");  // a tail: GNUmakefile and makefile are not looked for
  }
  for (size_t i = 0; i < args.size(); i++) {
    const std::string_view arg = args[i];
    if (arg == "-" || (family == kShell && arg == "-s")) return {ProgramInput::kStdin, ""};
    if (arg.empty() || (arg[0] != '-' && arg[0] != '+')) return named(arg);
    if (arg.substr(0, 2) == "--") continue;  // --norc, --login, -- ...
    const std::string_view flag = arg.substr(0, 2);
    const bool command =
        (family == kShell && arg[0] == '-' && arg.find('c') != std::string_view::npos) ||
        (family == kPython && (flag == "-c" || flag == "-m")) ||
        ((family == kPerl || family == kRuby) && (flag == "-e" || flag == "-E")) ||
        (family == kNode && (flag == "-e" || flag == "-p")) || (family == kPhp && flag == "-r");
    if (command) return {};
    if (family == kPhp && arg == "-f" && i + 1 < args.size()) return named(args[i + 1]);
    // Options whose value is the next argument.
    const bool takes_value =
        (family == kShell && (arg == "-o" || arg == "+o" || arg == "-O" || arg == "+O")) ||
        (family == kPython && (arg == "-W" || arg == "-X")) ||
        ((family == kPerl || family == kRuby) && arg == "-I") ||
        (family == kRuby && (arg == "-r" || arg == "-C")) || (family == kNode && arg == "-r") ||
        (family == kPhp && (arg == "-d" || arg == "-c"));
    if (takes_value) i++;
  }
  return {ProgramInput::kStdin, ""};
}

}  // namespace bento::collector

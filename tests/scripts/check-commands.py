#!/usr/bin/env python3
"""The programs this tree runs, derived from its own files, against tests/scripts/commands.txt.

Derived from: shell scripts (parsed by shfmt, so pipelines, $(...), subshells, `sh -c` strings,
trap strings and wrappers such as timeout, env, xargs, strace and `ip netns exec` are followed),
Makefile recipes and Dockerfile RUN lines (as shell), Python (subprocess calls with a literal
argv, shutil.which), C++ (the literal argv[0] of RunCommand, Process and argv/args vectors),
CMake (add_test, add_custom_command and execute_process COMMANDs, find_program, the project's
languages, pkg-config) and CPack's DEB generator (the programs CMake's CPackDeb.cmake looks for).
A command word that is a variable or a path inside the tree is the project's own, not a program
to install.

commands.txt names, per program, the install-deps.sh package that brings it ("required": part of
every Debian 12 system, Priority required). Checked here: every derived program is listed, every
listed package is in install-deps.sh's list (or "required"), and a listed program that nothing
derives says why it is there (a "#" note). tests/scripts/fresh-debian-check.sh then checks, on a
freshly debootstrapped Debian 12, that every listed program resolves after install-deps.sh.

  check-commands.py SOURCE_DIR            check; exit 1 naming every problem
  check-commands.py SOURCE_DIR --derived  print each derived program and where it is run
"""
import ast
import glob
import json
import os
import re
import shutil
import subprocess
import sys

SKIP_DIRS = {".git", "build", ".run", "node_modules"}


def builtins():
    out = subprocess.run(["bash", "-c", "compgen -b; compgen -k"], capture_output=True,
                         text=True, check=True).stdout
    return set(out.split())


BUILTINS = builtins()


class Found:
    def __init__(self):
        self.where = {}  # program -> ["file:line", ...]

    def add(self, name, where):
        self.where.setdefault(name, [])
        if where not in self.where[name]:
            self.where[name].append(where)


def program_name(word):
    """A literal command word -> the program to find in PATH, or None (the project's own)."""
    if word is None or word == "":
        return None
    if "/" in word:
        # /usr/bin/env and the like are system programs; any other path is the tree's own.
        if re.match(r"^/(usr/)?s?bin/[^/]+$", word):
            return os.path.basename(word)
        return None
    if not re.match(r"^[A-Za-z0-9_.+-]+$", word):
        return None
    return word


def skip_options(words, i, with_arg):
    """Skips options (and the arguments of those in with_arg) from words[i]."""
    while i < len(words) and words[i] is not None and words[i].startswith("-") and words[i] != "-":
        opt = words[i]
        i += 1
        if opt in with_arg:
            i += 1
        if opt == "--":
            break
    return i


def visit_argv(words, where, found, functions, depth=0):
    """words: an argv, each a literal string or None (not known before run time)."""
    while words:
        w = words[0]
        if w is None:
            return
        if w in ("!", "time", "exec", "nohup", "setsid", "builtin"):
            words = words[1:]
            continue
        if w == "command":
            if len(words) > 2 and words[1] in ("-v", "-V"):
                name = program_name(words[2])
                if name and name not in BUILTINS and name not in functions:
                    found.add(name, where)
                return
            words = words[1:]
            continue
        if w in ("trap", "eval"):
            # trap 'commands' SIGNALS (trap - SIGNALS and trap '' SIGNALS run nothing)
            if w == "trap" and len(words) > 2 and words[1] not in (None, "", "-", "-p", "-l"):
                visit_shell_text(words[1], where, found, functions, depth)
            return
        if w in functions or w in BUILTINS:
            return
        name = program_name(w)
        if name is None:
            return
        found.add(name, where)
        rest = words[1:]
        if name == "timeout":
            i = skip_options(rest, 0, {"-s", "-k", "--signal", "--kill-after"})
            words = rest[i + 1:]
        elif name == "env":
            i = skip_options(rest, 0, {"-u", "-C", "--unset", "--chdir"})
            while i < len(rest) and rest[i] is not None and re.match(r"^[A-Za-z_][A-Za-z0-9_]*=", rest[i]):
                i += 1
            if i < len(rest) and rest[i] is None and i > 0:
                # env VAR="$x" cmd: a value only known at run time is still an assignment.
                pass
            words = rest[i:]
        elif name == "nice":
            i = skip_options(rest, 0, {"-n", "--adjustment"})
            words = rest[i:]
        elif name == "xargs":
            i = skip_options(rest, 0, {"-n", "-I", "-d", "-P", "-L", "-s", "-a", "-E"})
            words = rest[i:]
        elif name == "strace":
            i = skip_options(rest, 0, {"-o", "-e", "-p", "-s", "-u", "-E", "-a", "-b", "-I", "-P", "-S", "-X"})
            words = rest[i:]
        elif name == "chroot":
            i = skip_options(rest, 0, {"--userspec", "--groups"})
            words = rest[i + 1:]
        elif name == "ip" and rest[:2] == ["netns", "exec"]:
            words = rest[3:]
        elif name in ("sh", "bash") and len(rest) >= 2 and rest[0] == "-c" and rest[1] is not None:
            visit_shell_text(rest[1], where, found, functions, depth)
            return
        elif name.startswith("python") and len(rest) >= 2 and rest[0] == "-c" and rest[1] is not None:
            visit_python_text(rest[1], where, found)
            return
        else:
            return


# --- shell, through shfmt's syntax tree -------------------------------------------------------

def word_value(word):
    """The literal value of a shfmt Word, or None when it expands at run time."""
    out = []
    for part in word.get("Parts", []):
        t = part.get("Type")
        if t == "Lit":
            out.append(part["Value"])
        elif t == "SglQuoted":
            out.append(part["Value"])
        elif t == "DblQuoted":
            v = word_value(part)
            if v is None:
                return None
            out.append(v)
        else:
            return None
    return "".join(out)


def walk(node, fn):
    if isinstance(node, dict):
        fn(node)
        for v in node.values():
            walk(v, fn)
    elif isinstance(node, list):
        for v in node:
            walk(v, fn)


def shell_tree(text):
    if not shutil.which("shfmt"):
        sys.exit("check-commands.py: shfmt is not installed (tests/scripts/install-deps.sh)")
    r = subprocess.run(["shfmt", "-ln", "bash", "--tojson"], input=text, capture_output=True,
                       text=True)
    if r.returncode != 0:
        raise SyntaxError(r.stderr.strip())
    return json.loads(r.stdout)


def visit_shell_text(text, where, found, functions=None, depth=0):
    """Every program a piece of shell runs. where: "file:line" or a function of a line."""
    if depth > 4:
        return
    tree = shell_tree(text)
    funcs = set(functions or ())

    def collect_funcs(n):
        if n.get("Type") == "FuncDecl":
            funcs.add(n["Name"]["Value"])
    walk(tree, collect_funcs)

    def at(line):
        return where(line) if callable(where) else where

    def on_node(n):
        if n.get("Type") != "CallExpr" or not n.get("Args"):
            return
        words = [word_value(a) for a in n["Args"]]
        line = n["Args"][0]["Pos"]["Line"]
        visit_argv(words, at(line), found, funcs, depth + 1)

    def on_stmt(n):
        # python3 - <<'EOF' ... EOF: the here-document is Python.
        cmd = n.get("Cmd")
        if not isinstance(cmd, dict) or cmd.get("Type") != "CallExpr" or not cmd.get("Args"):
            return
        first = word_value(cmd["Args"][0])
        if first and first.startswith("python"):
            for r in n.get("Redirs", []) or []:
                if r.get("Hdoc"):
                    body = word_value(r["Hdoc"])
                    if body is None:  # an unquoted delimiter: expansions inside; keep the text
                        body = "".join(p.get("Value", "") for p in r["Hdoc"].get("Parts", []))
                    visit_python_text(body, at(cmd["Args"][0]["Pos"]["Line"]), found)
    walk(tree, on_node)
    walk(tree, lambda n: on_stmt(n) if "Cmd" in n and "Position" in n else None)


SOURCED = re.compile(r'^\s*(?:\.|source)\s+"?\$[^/"\s]*(?:\)")?((?:/[^"\s/]+)+)"?', re.M)


def sourced_functions(path):
    """Functions defined by the shell files `path` sources from its own folder ("$here/lib.sh",
    "$(cd "$(dirname "$0")" && pwd)/../x.sh"): calling them runs no program."""
    funcs = set()
    for m in SOURCED.finditer(open(path, encoding="utf-8").read()):
        lib = os.path.normpath(os.path.dirname(path) + m.group(1))
        if not os.path.isfile(lib):
            continue

        def collect(n):
            if n.get("Type") == "FuncDecl":
                funcs.add(n["Name"]["Value"])
        walk(shell_tree(open(lib, encoding="utf-8").read()), collect)
    return funcs


# --- Python -----------------------------------------------------------------------------------

def visit_python_text(text, where, found):
    try:
        tree = ast.parse(text)
    except SyntaxError:
        return
    for n in ast.walk(tree):
        if not isinstance(n, ast.Call) or not isinstance(n.func, ast.Attribute):
            continue
        mod = n.func.value.id if isinstance(n.func.value, ast.Name) else None
        name = n.func.attr
        here = where(n.lineno) if callable(where) else where
        if mod == "subprocess" and name in ("run", "call", "check_call", "check_output", "Popen"):
            if n.args and isinstance(n.args[0], (ast.List, ast.Tuple)):
                argv = [e.value if isinstance(e, ast.Constant) and isinstance(e.value, str) else None
                        for e in n.args[0].elts]
                visit_argv(argv, here, found, set())
            elif n.args and isinstance(n.args[0], ast.Constant) and isinstance(n.args[0].value, str):
                visit_shell_text(n.args[0].value, here, found)
        elif mod == "shutil" and name == "which" and n.args and isinstance(n.args[0], ast.Constant):
            found.add(n.args[0].value, here)
        elif mod == "os" and name == "system" and n.args and isinstance(n.args[0], ast.Constant):
            visit_shell_text(n.args[0].value, here, found)


# --- C++ --------------------------------------------------------------------------------------

CPP_ARGV = re.compile(
    r"(?:\bRunCommand\s*\(|\bProcess\s*(?:[A-Za-z_]\w*\s*)?\(|"
    r"std::vector<std::string>\s+(?:argv|args)\s*=)\s*\{")
CPP_STRING = re.compile(r'"((?:[^"\\]|\\.)*)"')


def cpp_argv(text, start):
    """The brace list at text[start] ('{' just before) as literal strings or None."""
    depth, i, items, cur = 1, start, [], ""
    while i < len(text) and depth:
        c = text[i]
        if c == '"':
            m = CPP_STRING.match(text, i)
            if m is None:  # cut by the comment stripping ("http://..."): not a literal
                cur += c
                i += 1
                continue
            cur += m.group(0)
            i = m.end()
            continue
        if c in "({[":
            depth += 1
        elif c in ")}]":
            depth -= 1
        if depth == 0 or (c == "," and depth == 1):
            items.append(cur.strip())
            cur = ""
        else:
            cur += c
        i += 1
    out = []
    for item in items:
        m = CPP_STRING.fullmatch(item)
        out.append(bytes(m.group(1), "utf-8").decode("unicode_escape") if m else None)
    return out


def visit_cpp(path, rel, found):
    text = open(path, encoding="utf-8").read()
    text = re.sub(r"//[^\n]*", lambda m: " " * len(m.group(0)), text)
    for m in CPP_ARGV.finditer(text):
        argv = cpp_argv(text, m.end())
        if not argv or argv[0] is None or argv[0].startswith("-"):
            continue
        line = text.count("\n", 0, m.start()) + 1
        visit_argv(argv, f"{rel}:{line}", found, set())


# --- CMake ------------------------------------------------------------------------------------

CMAKE_KEYWORDS = {
    "COMMAND", "ARGS", "DEPENDS", "WORKING_DIRECTORY", "COMMENT", "VERBATIM", "OUTPUT",
    "MAIN_DEPENDENCY", "BYPRODUCTS", "IMPLICIT_DEPENDS", "USES_TERMINAL", "COMMAND_EXPAND_LISTS",
    "DEPFILE", "JOB_POOL", "APPEND", "NAME", "CONFIGURATIONS", "RESULT_VARIABLE",
    "OUTPUT_VARIABLE", "ERROR_VARIABLE", "INPUT_FILE", "OUTPUT_FILE", "ERROR_FILE", "TIMEOUT",
    "OUTPUT_QUIET", "ERROR_QUIET", "OUTPUT_STRIP_TRAILING_WHITESPACE", "ALL", "SOURCES",
    "COMMAND_ERROR_IS_FATAL", "ECHO_OUTPUT_VARIABLE", "ECHO_ERROR_VARIABLE", "RESULTS_VARIABLE",
    "ERROR_STRIP_TRAILING_WHITESPACE", "ENCODING"}
FIND_PROGRAM_KEYWORDS = {"NAMES", "HINTS", "PATHS", "PATH_SUFFIXES", "DOC", "REQUIRED",
                         "NAMES_PER_DIR", "NO_CACHE", "VALIDATOR", "REGISTRY_VIEW"}
CMAKE_PROGRAMS = {"CMAKE_COMMAND": "cmake", "CMAKE_CTEST_COMMAND": "ctest",
                  "CMAKE_CPACK_COMMAND": "cpack"}


def cmake_calls(text):
    """(name, [args], line) for every command invocation in a CMake file."""
    text = re.sub(r'#[^\n"]*', "", text)
    for m in re.finditer(r"\b([A-Za-z_]\w*)\s*\(", text):
        i, depth, args, cur, quoted = m.end(), 1, [], "", False
        while i < len(text) and depth:
            c = text[i]
            if quoted:
                if c == "\\" and i + 1 < len(text):
                    cur += text[i:i + 2]
                    i += 2
                    continue
                if c == '"':
                    quoted = False
                cur += c
            elif c == '"':
                quoted = True
                cur += c
            elif c == "(":
                depth += 1
                cur += c
            elif c == ")":
                depth -= 1
                if depth:
                    cur += c
            elif c.isspace():
                if cur:
                    args.append(cur)
                cur = ""
            else:
                cur += c
            i += 1
        if cur:
            args.append(cur)
        yield m.group(1).lower(), args, text.count("\n", 0, m.start()) + 1


def cmake_word(arg, programs):
    if arg.startswith('"') and arg.endswith('"'):
        return arg[1:-1].replace('\\"', '"')
    m = re.fullmatch(r"\$\{(\w+)\}", arg)
    if m:
        return programs.get(m.group(1))
    if "$" in arg:
        return None
    m = re.fullmatch(r"\w+::([A-Za-z0-9_.+-]+)", arg)  # an imported executable target
    if m:
        return m.group(1)
    return arg


def cpack_deb_programs():
    modules = sorted(glob.glob("/usr/share/cmake-*/Modules/Internal/CPack/CPackDeb.cmake"))
    if not modules:
        sys.exit("check-commands.py: CMake's CPackDeb.cmake is not installed (cmake)")
    text = open(modules[-1], encoding="utf-8").read()
    return sorted(set(re.findall(r"find_program\(\s*\w+\s+(?:NAMES\s+)?([A-Za-z0-9_.+-]+)", text)))


def visit_cmake_files(root, files, found):
    programs = dict(CMAKE_PROGRAMS)
    calls = []
    for path in files:
        rel = os.path.relpath(path, root)
        calls += [(rel, c) for c in cmake_calls(open(path, encoding="utf-8").read())]
    # A COMMAND naming one of the tree's own executables runs what the build made.
    targets = {args[0] for _, (name, args, _) in calls if name == "add_executable" and args}
    for rel, (name, args, line) in calls:  # find_program first: its variables name programs
        if name == "find_program" and len(args) >= 2:
            names = [a for a in args[1:] if a not in FIND_PROGRAM_KEYWORDS]
            for n in names[:1] if "NAMES" not in args else names:
                found.add(n, f"{rel}:{line}")
                programs.setdefault(args[0], n)
    deb = shlibdeps = False
    for rel, (name, args, line) in calls:
        where = f"{rel}:{line}"
        # $<TARGET_FILE:ns::name> anywhere: a program of an imported package (protoc's plugin).
        for a in args:
            for m in re.finditer(r"\$<TARGET_FILE:\w+::([A-Za-z0-9_.+-]+)>", a):
                found.add(m.group(1), where)
        if name in ("add_test", "add_custom_command", "add_custom_target", "execute_process"):
            groups, cur = [], None
            for a in args:
                if a == "COMMAND":
                    cur = []
                    groups.append(cur)
                elif a in CMAKE_KEYWORDS:
                    cur = None
                elif cur is not None:
                    cur.append(a)
            for g in groups:
                visit_argv([cmake_word(a, programs) for a in g], where, found, targets)
        elif name == "project" and "LANGUAGES" in args:
            langs = args[args.index("LANGUAGES") + 1:]
            if "CXX" in langs:
                found.add("c++", where)  # CMake's default C++ compiler on Debian
            if "C" in langs:
                found.add("cc", where)
        elif name == "find_package" and args and args[0] == "PkgConfig":
            found.add("pkg-config", where)
        elif name == "set" and len(args) >= 2 and args[0] == "CPACK_GENERATOR" and "DEB" in args[1]:
            deb = True
        elif name == "set" and args[:2] == ["CPACK_DEBIAN_PACKAGE_SHLIBDEPS", "ON"]:
            shlibdeps = True
    if deb:
        for p in cpack_deb_programs():
            if p == "file" and not shlibdeps:
                continue
            found.add(p, "cpack -G DEB (CMake's CPackDeb.cmake)")


def visit_presets(path, rel, found):
    presets = json.load(open(path, encoding="utf-8"))
    for p in presets.get("configurePresets", []):
        for key in ("CMAKE_CXX_COMPILER", "CMAKE_C_COMPILER"):
            v = p.get("cacheVariables", {}).get(key)
            if v and program_name(v):
                found.add(program_name(v), f"{rel} ({p['name']})")


# --- Makefile and Dockerfile ------------------------------------------------------------------

def visit_makefile(path, rel, found):
    lines = open(path, encoding="utf-8").read().split("\n")
    i = 0
    while i < len(lines):
        if lines[i].startswith("\t"):
            start = i
            text = lines[i][1:]
            while text.endswith("\\") and i + 1 < len(lines):
                i += 1
                text = text[:-1] + " " + lines[i].lstrip("\t")
            text = text.lstrip("@-+ ")
            text = re.sub(r"\$[({]\w+[)}]", "/make-variable", text.replace("$$", "\0"))
            visit_shell_text(text.replace("\0", "$"), f"{rel}:{start + 1}", found)
        i += 1


def visit_dockerfile(path, rel, found):
    lines = open(path, encoding="utf-8").read().split("\n")
    i = 0
    while i < len(lines):
        m = re.match(r"^RUN\s+(.*)$", lines[i])
        if m:
            start, text = i, m.group(1)
            while text.endswith("\\") and i + 1 < len(lines):
                i += 1
                text = text[:-1] + " " + lines[i]
            visit_shell_text(text, f"{rel}:{start + 1}", found)
        i += 1


# --- the tree ---------------------------------------------------------------------------------

def is_shell(path):
    if path.endswith(".sh"):
        return True
    try:
        first = open(path, "rb").readline()
    except OSError:
        return False
    return first.startswith(b"#!") and (b"bash" in first or first.rstrip().endswith(b"/sh"))


def derive(root):
    found = Found()
    cmake_files = []
    for d, dirs, files in os.walk(root):
        dirs[:] = sorted(x for x in dirs if x not in SKIP_DIRS)
        for f in sorted(files):
            path = os.path.join(d, f)
            rel = os.path.relpath(path, root)
            if f == "CMakeLists.txt" or f.endswith(".cmake"):
                cmake_files.append(path)
            elif f == "CMakePresets.json":
                visit_presets(path, rel, found)
            elif f == "Makefile":
                visit_makefile(path, rel, found)
            elif f == "Dockerfile":
                visit_dockerfile(path, rel, found)
            elif f.endswith((".cc", ".h")):
                visit_cpp(path, rel, found)
            elif f.endswith(".py"):
                visit_python_text(open(path, encoding="utf-8").read(),
                                  lambda n, rel=rel: f"{rel}:{n}", found)
            elif is_shell(path):
                try:
                    visit_shell_text(open(path, encoding="utf-8").read(),
                                     lambda n, rel=rel: f"{rel}:{n}", found,
                                     sourced_functions(path))
                except SyntaxError as e:
                    sys.exit(f"check-commands.py: {rel}: {e}")
    visit_cmake_files(root, cmake_files, found)
    return found.where


def read_list(path):
    """commands.txt -> {program: (package, note)}; exits on a malformed line."""
    out = {}
    for n, raw in enumerate(open(path, encoding="utf-8"), 1):
        line, _, note = raw.partition("#")
        fields = line.split()
        if not fields:
            continue
        if len(fields) != 2:
            sys.exit(f"{path}:{n}: want 'program package [# note]', got: {raw.strip()}")
        if fields[0] in out:
            sys.exit(f"{path}:{n}: {fields[0]} is listed twice")
        out[fields[0]] = (fields[1], note.strip())
    return out


def install_deps_packages(root):
    r = subprocess.run([os.path.join(root, "tests/scripts/install-deps.sh"), "--list"],
                       capture_output=True, text=True, check=True)
    return set(r.stdout.split())


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    root = os.path.realpath(sys.argv[1])
    derived = derive(root)
    if "--derived" in sys.argv[2:]:
        for name in sorted(derived):
            print(f"{name}\t{' '.join(derived[name][:3])}")
        return 0
    listed = read_list(os.path.join(root, "tests/scripts/commands.txt"))
    packages = install_deps_packages(root)
    problems = []
    for name in sorted(derived):
        if name not in listed:
            problems.append(f"{name} (run at {', '.join(derived[name][:3])}) is not in "
                            "tests/scripts/commands.txt: add it with the package that brings it, "
                            "and that package to tests/scripts/install-deps.sh")
    for name, (package, note) in sorted(listed.items()):
        if package != "required" and package not in packages:
            problems.append(f"{name}: its package {package} is not in tests/scripts/install-deps.sh")
        if name not in derived and not note:
            problems.append(f"{name}: listed, but nothing in the tree runs it; say why with a "
                            "'# note' or remove it")
    for p in problems:
        print(f"FAIL: {p}")
    if problems:
        return 1
    print(f"ok: {len(derived)} programs derived from the tree, all in commands.txt "
          f"({len(listed)} listed), every package in install-deps.sh")
    return 0


if __name__ == "__main__":
    sys.exit(main())

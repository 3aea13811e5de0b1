"""The package's import rules, read from its source (no TensorFlow needed).

Layers, from the top; a module may import its own layer and the layers below it, never one above:

  command line and comparison kit: infogan/cli/, infogan/__main__.py, train.py, the `infogan`
    facade, infogan/parity/ (which nothing outside it imports)
  tools: infogan/tools/
  training: infogan/training/, infogan/distribute/
  configuration: infogan/config*
  model and data: infogan/model/, infogan/data/, infogan/plots.py

Every import counts, also one inside a function: it is a dependency all the same. A rule that the
package breaks today is listed in KNOWN_VIOLATIONS and expected to fail (strictly: once it holds,
the test fails until the entry is removed).
"""
import ast
import os
import subprocess
import sys

import pytest

from conftest import REPO_ROOT

# (layer, path prefixes relative to the repository root), from the top.
LAYERS = (
    ("command line and comparison kit", ("infogan/cli/", "infogan/__main__.py", "train.py",
                                         "infogan/__init__.py", "infogan/parity/")),
    ("tools", ("infogan/tools/",)),
    ("training", ("infogan/training/",)),
    ("configuration", ("infogan/config",)),
    ("model and data", ("infogan/model/", "infogan/data/", "infogan/plots.py")),
)
COMPARISON_KIT = "infogan.parity"
# Entry points whose module-level imports must not load TensorFlow (they check flags first).
COMMAND_LINE = ("infogan/cli/", "infogan/__main__.py", "train.py")
TENSORFLOW = ("tensorflow", "keras")

# rule -> why it fails today; remove an entry once the rule holds.
KNOWN_VIOLATIONS = {}


def known(rule):
    """`rule` as a pytest parameter, an expected failure while it is in KNOWN_VIOLATIONS."""
    marks = [pytest.mark.xfail(strict=True, reason=KNOWN_VIOLATIONS[rule])] if rule in KNOWN_VIOLATIONS else []
    return pytest.param(rule, marks=marks, id=rule)


def source_files(root=REPO_ROOT):
    """module name -> path relative to `root`, for every module of the package and train.py."""
    modules = {"train": "train.py"}
    for folder, folders, files in os.walk(os.path.join(root, "infogan")):
        folders[:] = [name for name in folders if name != "__pycache__"]
        for name in files:
            if name.endswith(".py"):
                path = os.path.relpath(os.path.join(folder, name), root).replace(os.sep, "/")
                module = path[:-len(".py")].replace("/", ".")
                modules[module[:-len(".__init__")] if module.endswith(".__init__") else module] = path
    return modules


def imported_names(tree, module, is_package, top_level_only=False):
    """The absolute names `tree` imports: `from a import b` gives a.b, which `resolve` maps to the
    submodule a.b or else to a. With top_level_only, only imports that run when the module is
    imported."""
    # Top level: also imports under a top-level if/try/with, not those inside a def or class.
    nodes = _top_level_statements(tree.body) if top_level_only else ast.walk(tree)
    names = []
    for node in nodes:
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = module.split(".")[:len(module.split(".")) - node.level + is_package]
                base = ".".join(parts + ([node.module] if node.module else []))
            names += ["%s.%s" % (base, alias.name) for alias in node.names]
    return names


def _top_level_statements(statements):
    for node in statements:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            continue
        yield node
        for field in ("body", "orelse", "finalbody", "handlers"):
            yield from _top_level_statements(getattr(node, field, []) or [])


def resolve(name, modules):
    """The package module `name` loads (the longest module prefix of it), or None."""
    while name and name not in modules:
        name = name.rpartition(".")[0]
    return name or None


def import_graph(modules, top_level_only=False, root=REPO_ROOT):
    """module -> set of package modules it imports."""
    graph = {}
    for module, path in modules.items():
        with open(os.path.join(root, path)) as stream:
            tree = ast.parse(stream.read(), path)
        names = imported_names(tree, module, path.endswith("__init__.py"), top_level_only)
        graph[module] = {target for target in (resolve(name, modules) for name in names)
                         if target is not None and target != module}
    return graph


def cycles(graph):
    """The strongly connected components of more than one node (Tarjan's algorithm)."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(node):
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in graph.get(node, ()):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = set()
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.add(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def layer_of(path):
    """The index in LAYERS of the layer holding `path`."""
    for rank, (_, prefixes) in enumerate(LAYERS):
        if path.startswith(prefixes):
            return rank
    raise AssertionError("%s is in no layer: add it to LAYERS" % path)


def package_of(module):
    """The unit of the package cycles: infogan.<subpackage> or infogan.<module>."""
    return ".".join(module.split(".")[:2])


def upward_imports(graph, modules, rank):
    """(importer, imported) pairs where a module of layer `rank` imports a layer above it."""
    return sorted((module, target) for module, targets in graph.items()
                  if layer_of(modules[module]) == rank
                  for target in targets if layer_of(modules[target]) < rank)


MODULES = source_files()
GRAPH = import_graph(MODULES)


def check(rule):
    """The violations of `rule` in the package's source (empty when it holds)."""
    if rule == "no module cycle":
        return cycles(GRAPH)
    if rule == "no package cycle":
        packages = {}
        for module, targets in GRAPH.items():
            packages.setdefault(package_of(module), set()).update(
                package_of(target) for target in targets if package_of(target) != package_of(module))
        return cycles(packages)
    if rule == "nothing outside the comparison kit imports it":
        return sorted((module, target) for module, targets in GRAPH.items()
                      if not module.startswith(COMPARISON_KIT)
                      for target in targets if target.startswith(COMPARISON_KIT))
    for rank, (layer, _) in enumerate(LAYERS):
        if rule == "layer %s imports nothing above it" % layer:
            return upward_imports(GRAPH, MODULES, rank)
    raise KeyError(rule)


RULES = (["no module cycle", "no package cycle", "nothing outside the comparison kit imports it"]
         + ["layer %s imports nothing above it" % layer for layer, _ in LAYERS[1:]])


@pytest.mark.parametrize("rule", [known(rule) for rule in RULES])
def test_import_rule(rule):
    assert check(rule) == []


def test_every_module_is_in_a_layer_and_the_rules_see_violations():
    for path in MODULES.values():
        layer_of(path)
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert cycles(graph) == [["a", "b", "c"]]
    modules = {"infogan.model.x": "infogan/model/x.py", "infogan.tools.y": "infogan/tools/y.py"}
    assert upward_imports({"infogan.model.x": {"infogan.tools.y"}, "infogan.tools.y": set()},
                          modules, layer_of("infogan/model/x.py")) == [
                              ("infogan.model.x", "infogan.tools.y")]
    tree = ast.parse("import os\nfrom . import sibling\nfrom .sub import name\n"
                     "def f():\n    import tensorflow\n")
    assert imported_names(tree, "infogan.data.idx", False, top_level_only=True) == [
        "os", "infogan.data.sibling", "infogan.data.sub.name"]
    assert "tensorflow" in imported_names(tree, "infogan.data.idx", False)


def loaded_at_import(module, graph, modules):
    """Every package module that importing `module` runs: its module-level imports, followed,
    with each module's parent packages."""
    seen, todo = set(), [module]
    while todo:
        current = todo.pop()
        if current in seen:
            continue
        seen.add(current)
        parts = current.split(".")
        todo += [".".join(parts[:k]) for k in range(1, len(parts)) if ".".join(parts[:k]) in modules]
        todo += graph[current]
    return seen


def test_the_command_line_imports_no_tensorflow_when_loaded():
    top_level = import_graph(MODULES, top_level_only=True)
    offenders = {}
    for module, path in MODULES.items():
        if not path.startswith(COMMAND_LINE):
            continue
        for loaded in loaded_at_import(module, top_level, MODULES):
            with open(os.path.join(REPO_ROOT, MODULES[loaded])) as stream:
                names = imported_names(ast.parse(stream.read()), loaded,
                                       MODULES[loaded].endswith("__init__.py"), top_level_only=True)
            tensorflow = sorted(name for name in names if name.split(".")[0] in TENSORFLOW)
            if tensorflow:
                offenders.setdefault(module, []).append((loaded, tensorflow))
    assert offenders == {}


@pytest.mark.slow
@pytest.mark.parametrize("argv", [["train.py", "--no_such_flag"], ["train.py", "--batch_size=0"],
                                  ["python -m infogan evaluate"]])
def test_bad_flags_are_refused_before_tensorflow_loads(argv):
    module = "infogan.cli.evaluate" if "evaluate" in argv[0] else "infogan.cli.train"
    code = ("import sys\nsys.argv = %r\nimport %s as command\ntry:\n    command.run()\n"
            "except SystemExit as stop:\n    print(stop.code, 'tensorflow' in sys.modules)\n"
            % (argv, module))
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            cwd=REPO_ROOT, timeout=120)
    assert result.stdout.split() == ["2", "False"], result.stderr

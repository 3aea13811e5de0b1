"""How many cross-replica exchanges a traced function runs, counted from its graph.

Collective ops (`CollectiveReduceV2`, `CollectiveGatherV2`, NCCL's all-reduce, ...) are what the
multi-worker strategy emits for each all-reduce, all-gather or broadcast. The mirrored strategy
with `ReductionToOneDevice` emits none: each all-reduce is an `AddN` on one device of values from
every replica's device, counted here as one exchange too.

Call sites count as many times as they appear: a function called twice counts twice; of the
branches of a conditional, the one with the most; a loop body, once.
"""
import collections

COLLECTIVE_OPS = frozenset((
    "CollectiveReduce", "CollectiveReduceV2", "CollectiveReduceV3", "CollectiveGather",
    "CollectiveGatherV2", "CollectiveBcastSend", "CollectiveBcastRecv", "CollectiveBcastSendV2",
    "CollectiveBcastRecvV2", "CollectiveAllToAllV2", "CollectiveAllToAllV3",
    "CollectiveReduceScatterV2", "NcclAllReduce", "NcclReduce", "NcclBroadcast"))
CROSS_DEVICE_SUM = "AddN across devices"
_BRANCH_ATTRIBUTES = ("then_branch", "else_branch", "branches")
_CALL_ATTRIBUTES = ("f", "body", "cond")


def count_collectives(function):
    """The cross-replica exchanges one call of a traced function runs, by kind.

    Args:
      function: a ConcreteFunction, a tf.Graph (a FuncGraph), or a GraphDef.

    Returns:
      collections.Counter: op type (or CROSS_DEVICE_SUM) -> count; sum(...values()) is the total.
    """
    graph_def = _graph_def(function)
    library = {f.signature.name: f for f in graph_def.library.function}
    return _count_nodes(graph_def.node, library, {})


def _graph_def(function):
    if hasattr(function, "graph"):  # a ConcreteFunction
        function = function.graph
    if hasattr(function, "as_graph_def"):
        return function.as_graph_def()
    return function


def _count_nodes(nodes, library, cache):
    devices = {node.name: node.device for node in nodes}
    counts = collections.Counter()
    for node in nodes:
        if node.op in COLLECTIVE_OPS:
            counts[node.op] += 1
        elif node.op == "AddN" and _spans_devices(node, devices):
            counts[CROSS_DEVICE_SUM] += 1
        counts.update(_called(node, library, cache))
    return counts


def _spans_devices(node, devices):
    """Whether the node's data inputs come from nodes placed on more than one device."""
    producers = {devices.get(name.split(":")[0]) for name in node.input if not name.startswith("^")}
    return len(producers - {None, ""}) > 1


def _called(node, library, cache):
    """The exchanges of the functions a node calls: by its op name, or in its attributes."""
    names = [node.op] if node.op in library else []
    names += [node.attr[key].func.name for key in _CALL_ATTRIBUTES
              if key in node.attr and node.attr[key].func.name]
    counts = collections.Counter()
    for name in names:
        counts.update(_function_counts(name, library, cache))
    branches = [_function_counts(branch, library, cache) for branch in _branches(node)]
    if branches:
        counts.update(max(branches, key=lambda branch: sum(branch.values())))
    return counts


def _branches(node):
    """The names of the functions among which a conditional node chooses (If, Case)."""
    names = []
    for key in _BRANCH_ATTRIBUTES:
        if key in node.attr:
            value = node.attr[key]
            names += [value.func.name] if value.func.name else [f.name for f in value.list.func]
    return names


def _function_counts(name, library, cache):
    if name not in cache:
        cache[name] = collections.Counter()  # a recursive call counts once
        if name in library:
            cache[name] = _count_nodes(library[name].node_def, library, cache)
    return cache[name]

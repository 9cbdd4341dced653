"""``seetrain.log_graph(model, example_input)``: a PyTorch model's graph as a record of the run.

The graph is traced with ``torch.fx.symbolic_trace`` and, when an example input is given, its
tensors' shapes are filled in by running the traced graph once (``ShapeProp``). Models fx cannot
trace (data-dependent control flow) are exported with ``torch.export`` instead, which needs the
example input; failing both, the record holds the module tree only and says why.

The record is a ``graph`` event (``RunView.media(kind="graph")``) whose payload is documented in
docs/insight.md ("Model graph"); its ``format`` is ``"seetrain.graph/1"``.
"""

from __future__ import annotations

from typing import Any

FORMAT = "seetrain.graph/1"
MAX_NODES = 5000  # a bigger graph keeps its first nodes and says it was cut


def _shape_of(value: Any) -> Any:
    """Shape (list of ints) and dtype of a tensor, or a list of them for tuples; None otherwise."""
    shape = getattr(value, "shape", None)
    if shape is not None:
        return {"shape": [int(d) if isinstance(d, int) or str(d).isdigit() else str(d) for d in shape],
                "dtype": str(getattr(value, "dtype", "")).replace("torch.", "")}
    if isinstance(value, (list, tuple)):
        shapes = [_shape_of(v) for v in value]
        return shapes if any(s is not None for s in shapes) else None
    return None


def _meta_shape(node: Any) -> Any:
    meta = node.meta
    if "tensor_meta" in meta:
        tm = meta["tensor_meta"]
        if not hasattr(tm, "shape"):  # several outputs: a tuple of TensorMetadata (itself a NamedTuple)
            return [{"shape": [int(d) for d in t.shape], "dtype": str(t.dtype).replace("torch.", "")}
                    for t in tm if hasattr(t, "shape")]
        return {"shape": [int(d) for d in tm.shape], "dtype": str(tm.dtype).replace("torch.", "")}
    if "val" in meta:
        return _shape_of(meta["val"])
    return None


def _params(module: Any) -> int:
    return sum(int(p.numel()) for p in module.parameters())


def _module_tree(model: Any) -> dict[str, Any]:
    def build(path: str, module: Any) -> dict[str, Any]:
        children = [build(f"{path}.{name}" if path else name, child) for name, child in module.named_children()]
        own = sum(int(p.numel()) for p in module.parameters(recurse=False))
        return {"path": path, "type": type(module).__name__, "params": _params(module), "own_params": own,
                "children": children}

    return build("", model)


def _target_name(node: Any) -> str:
    target = node.target
    if isinstance(target, str):
        return target
    if type(target).__name__ in ("OpOverload", "OpOverloadPacket"):
        return str(target)  # "aten.linear.default"
    name = getattr(target, "__name__", None) or str(target)
    module = getattr(target, "__module__", None)
    return f"{module}.{name}" if module and module not in ("builtins",) else name


def _input_names(node: Any) -> list[str]:
    names: list[str] = []

    def visit(arg: Any) -> None:
        if hasattr(arg, "op") and hasattr(arg, "name"):
            names.append(arg.name)
        elif isinstance(arg, (list, tuple)):
            for a in arg:
                visit(a)
        elif isinstance(arg, dict):
            for a in arg.values():
                visit(a)

    visit(node.args)
    visit(node.kwargs)
    return list(dict.fromkeys(names))


def _nodes(graph: Any, model: Any, module_of: Any) -> list[dict[str, Any]]:
    modules = dict(model.named_modules())
    out = []
    for node in graph.nodes:
        entry: dict[str, Any] = {"name": node.name, "op": node.op, "target": _target_name(node),
                                 "inputs": _input_names(node)}
        if node.op == "call_module":
            sub = modules.get(str(node.target))
            entry["type"] = type(sub).__name__ if sub is not None else None
            entry["module"] = str(node.target)
            entry["params"] = _params(sub) if sub is not None else 0
        elif node.op in ("placeholder", "output"):
            entry["type"] = "input" if node.op == "placeholder" else "output"
            entry["module"] = None
            entry["params"] = 0
        else:
            target = entry["target"]
            # aten ops name the op, then the overload ("aten.linear.default" -> "linear").
            entry["type"] = target.split(".")[1] if target.startswith("aten.") else target.rsplit(".", 1)[-1]
            entry["module"] = module_of(node)
            entry["params"] = 0
            if node.op == "get_attr":
                value = _attr(model, str(node.target))
                numel = getattr(value, "numel", None)
                entry["params"] = int(numel()) if callable(numel) else 0
        shape = _meta_shape(node)
        if shape is not None:
            entry["output"] = shape
        out.append(entry)
    return out


def _attr(model: Any, path: str) -> Any:
    value = model
    for part in path.split("."):
        value = getattr(value, part, None)
    return value


def _inputs(example_input: Any) -> tuple[Any, ...]:
    if example_input is None:
        return ()
    return tuple(example_input) if isinstance(example_input, (tuple, list)) else (example_input,)


def _trace_fx(model: Any, inputs: tuple[Any, ...]) -> tuple[Any, str]:
    import torch.fx
    from torch.fx.passes.shape_prop import ShapeProp

    traced = torch.fx.symbolic_trace(model)
    if inputs:
        ShapeProp(traced).propagate(*inputs)

    def module_of(node: Any) -> str | None:
        # Functions called inside a module's forward are attributed to the module's path when
        # fx recorded it (nn_module_stack), else to the top level.
        stack = node.meta.get("nn_module_stack")
        return list(stack.values())[-1][0] if stack else None

    return _nodes(traced.graph, model, module_of), "torch.fx"


def _trace_export(model: Any, inputs: tuple[Any, ...]) -> tuple[Any, str]:
    import torch

    exported = torch.export.export(model, inputs)

    def module_of(node: Any) -> str | None:
        stack = node.meta.get("nn_module_stack")
        if not stack:
            return None
        path = list(stack.values())[-1][0]
        return path.replace("L['self'].", "").replace("L__self___", "") or None

    nodes = _nodes(exported.graph, model, module_of)
    # Parameters and buffers are lifted to graph inputs by export: name them as such.
    signature = exported.graph_signature
    lifted = {**{k: ("parameter", v) for k, v in signature.inputs_to_parameters.items()},
              **{k: ("buffer", v) for k, v in signature.inputs_to_buffers.items()}}
    state = exported.state_dict
    for node in nodes:
        if node["name"] in lifted:
            kind, fqn = lifted[node["name"]]
            node["type"] = kind
            node["target"] = fqn
            node["module"] = fqn.rsplit(".", 1)[0] if "." in fqn else None
            value = state.get(fqn)
            node["params"] = int(value.numel()) if kind == "parameter" and value is not None else 0
    return nodes, "torch.export"


def graph_payload(model: Any, example_input: Any = None) -> dict[str, Any]:
    """The graph record's payload (JSON-safe); see the module doc. Never raises for a model
    whose graph cannot be traced: ``method`` is then ``"modules"`` and ``errors`` says why."""
    inputs = _inputs(example_input)
    payload: dict[str, Any] = {"format": FORMAT, "model": type(model).__name__,
                               "total_params": _params(model),
                               "trainable_params": sum(int(p.numel()) for p in model.parameters() if p.requires_grad),
                               "inputs": [_shape_of(i) for i in inputs], "modules": _module_tree(model)}
    errors: list[str] = []
    nodes: list[dict[str, Any]] | None = None
    was_training = getattr(model, "training", False)
    try:
        model.eval()  # tracing with an example input runs the model once: no dropout, no BN update
        import torch

        with torch.no_grad():
            for tracer in (_trace_fx, _trace_export):
                if tracer is _trace_export and not inputs:
                    break
                try:
                    nodes, payload["method"] = tracer(model, inputs)
                    break
                except Exception as exc:  # noqa: BLE001 - try the next way, report all
                    errors.append(f"{tracer.__name__[7:]}: {type(exc).__name__}: {str(exc)[:300]}")
    finally:
        model.train(was_training)
    if nodes is None:
        payload["method"] = "modules"
        nodes = []
    if len(nodes) > MAX_NODES:
        payload["truncated"] = len(nodes)
        nodes = nodes[:MAX_NODES]
    payload["nodes"] = nodes
    kept = {n["name"] for n in nodes}
    payload["edges"] = [[src, n["name"]] for n in nodes for src in n["inputs"] if src in kept]
    payload["op_counts"] = _op_counts(nodes)
    if errors:
        payload["errors"] = errors
    return payload


def _op_counts(nodes: list[dict[str, Any]]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for node in nodes:
        if node["op"] in ("call_module", "call_function", "call_method"):
            counts[node["type"]] = counts.get(node["type"], 0) + 1
    return counts


def log_graph(model: Any, example_input: Any = None, key: str = "graph", run: Any = None,
              step: int | None = None) -> dict[str, Any] | None:
    """Trace ``model`` (a ``torch.nn.Module``) and store its graph as a ``graph`` event under
    ``key`` in ``run`` (default: the current run). ``example_input`` (a tensor or a tuple of
    positional inputs) gives the shapes. Returns the payload, or None without a run (nothing is
    traced then). Never raises into the caller's script: a failure is warned about once."""
    if run is None:
        from seetrain._current_run import get_run

        run = get_run()
    if run is None or getattr(run, "finished", False) or getattr(run, "mode", None) == "disabled":
        return None
    try:
        payload = graph_payload(model, example_input)
        run.log_event("graph", payload, key=key, step=step)
        return payload
    except Exception as exc:  # noqa: BLE001
        import warnings

        from seetrain._errors import SeeTrainWarning

        warnings.warn(f"seetrain: log_graph failed ({type(exc).__name__}: {exc}); nothing recorded",
                      SeeTrainWarning, stacklevel=2)
        return None

"""Least privilege, kept honest: each function's policy grants exactly what its code calls.

The AWS calls are found statically: a call graph over app.py and chalicelib (function by
function, following module attributes, imported names, `self.` methods and the classes a
port factory returns), and in each reached function the boto3 client methods of the
services its module builds clients for (`clients.client("svc")`), plus the operations named
in `generate_presigned_url("op")` / `get_paginator("op")`. botocore's service models turn
the method names into API operations, and a short table maps operations to IAM actions
where the two differ. New code is picked up with no change here.
"""

from __future__ import annotations

import ast
import functools
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from fnmatch import fnmatch
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
STAGE = "prod"

# Operations whose IAM action has another name (S3 authorises several under one action).
IAM_ACTION = {
    "s3:HeadObject": ["s3:GetObject"],
    "s3:HeadBucket": ["s3:ListBucket"],
    "s3:ListObjectsV2": ["s3:ListBucket"],
    "s3:ListObjects": ["s3:ListBucket"],
    "s3:DeleteObjects": ["s3:DeleteObject"],
    "s3:CreateMultipartUpload": ["s3:PutObject"],
    "s3:UploadPart": ["s3:PutObject"],
    "s3:CompleteMultipartUpload": ["s3:PutObject"],
    "s3:CopyObject": ["s3:GetObject", "s3:PutObject"],
    "s3:ListParts": ["s3:ListMultipartUploadParts"],
    "sqs:SendMessageBatch": ["sqs:SendMessage"],
    "sqs:DeleteMessageBatch": ["sqs:DeleteMessage"],
    "sqs:ChangeMessageVisibilityBatch": ["sqs:ChangeMessageVisibility"],
}
# What AWS itself needs of an execution role, whatever the code does.
LOG_ACTIONS = {"logs:CreateLogStream", "logs:PutLogEvents"}
XRAY_ACTIONS = {"xray:PutTraceSegments", "xray:PutTelemetryRecords"}
VPC_ACTIONS = {
    "ec2:CreateNetworkInterface",
    "ec2:DescribeNetworkInterfaces",
    "ec2:DescribeSubnets",
    "ec2:DeleteNetworkInterface",
    "ec2:AssignPrivateIpAddresses",
    "ec2:UnassignPrivateIpAddresses",
}
SQS_EVENT_SOURCE_ACTIONS = {"sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"}
PROXY_LOGIN_ACTIONS = {"rds-db:connect"}
# The only actions allowed on Resource "*": neither supports resource-level permissions.
STAR_ALLOWED = XRAY_ACTIONS | VPC_ACTIONS


# ------------------------------------------------------------------ the static scan


@functools.cache
def service_operations(service: str) -> dict[str, str]:
    """boto3 method name -> API operation name, from botocore's service model."""
    import botocore.session
    from botocore import xform_name

    model = botocore.session.get_session().get_service_model(service)
    return {xform_name(op): op for op in model.operation_names}


@functools.cache
def iam_prefix(service: str) -> str:
    import botocore.session

    model = botocore.session.get_session().get_service_model(service)
    return str(model.signing_name or model.endpoint_prefix)


@dataclass
class Module:
    name: str
    tree: ast.Module
    aliases: dict[str, tuple[str, str | None]] = field(default_factory=dict)
    defs: dict[str, ast.AST] = field(default_factory=dict)
    services: set[str] = field(default_factory=set)


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _is_aws_client(node: ast.AST) -> str | None:
    if (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "client"
        and isinstance(node.func.value, ast.Name)
        and node.func.value.id == "clients"
        and node.args
        and isinstance(node.args[0], ast.Constant)
        and isinstance(node.args[0].value, str)
    ):
        return node.args[0].value
    return None


@functools.cache
def modules() -> dict[str, Module]:
    """app.py and chalicelib, parsed: imports, definitions, services of clients.client()."""
    paths = [ROOT / "app.py", *sorted((ROOT / "chalicelib").rglob("*.py"))]
    found: dict[str, Module] = {}
    for path in paths:
        mod = Module(module_name(path), ast.parse(path.read_text()))
        package = mod.name if path.name == "__init__.py" else mod.name.rpartition(".")[0]
        for node in ast.walk(mod.tree):
            if isinstance(node, ast.Import):
                for a in node.names:
                    mod.aliases[a.asname or a.name.split(".")[0]] = (
                        a.name if a.asname else a.name.split(".")[0],
                        None,
                    )
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1])
                    base = f"{base}.{node.module}" if node.module else base
                for a in node.names:
                    mod.aliases[a.asname or a.name] = (base, a.name)
            elif (service := _is_aws_client(node)) is not None:
                mod.services.add(service)
        for node in mod.tree.body:
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                mod.defs[node.name] = node
            elif isinstance(node, ast.Assign | ast.AnnAssign):
                # a module-level value (a table of callbacks...) is reached like a function
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                for target in targets:
                    if isinstance(target, ast.Name):
                        mod.defs[target.id] = node
            elif isinstance(node, ast.ClassDef):
                mod.defs[node.name] = node
                for item in node.body:
                    if isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef):
                        mod.defs[f"{node.name}.{item.name}"] = item
        found[mod.name] = mod
    return found


Node = tuple[str, str]  # (module, qualified name); "<module>" is the top level


def _resolve(mod: Module, name: str) -> list[Node]:
    """What a bare name refers to: a definition here, or an imported chalicelib thing."""
    if name in mod.defs:
        return [(mod.name, name)]
    target = mod.aliases.get(name)
    if target is None:
        return []
    base, attr = target
    mods = modules()
    if attr is None:
        return []  # a module: used through its attributes
    if f"{base}.{attr}" in mods:
        return []  # `from chalicelib import files`: a module too
    if base in mods and attr in mods[base].defs:
        return [(base, attr)]
    return []


def _module_of(mod: Module, name: str) -> str | None:
    target = mod.aliases.get(name)
    if target is None:
        return None
    base, attr = target
    full = base if attr is None else f"{base}.{attr}"
    return full if full in modules() else None


def _expand(node: Node) -> list[Node]:
    """A class named is a class built: its __init__ (its methods are reached by calls)."""
    mod = modules()[node[0]]
    if isinstance(mod.defs.get(node[1]), ast.ClassDef):
        init = f"{node[1]}.__init__"
        return [(node[0], init)] if init in mod.defs else []
    return [node]


# Dispatch through a registry: `register("export", Kind(step=step, cleanup=cleanup))` at
# import time, `kind_of(name).step(ctx)` later. A call of `.step(...)` (any registered
# field) reaches every function registered under that field.
REGISTRAR: Node = ("chalicelib.tasks.model", "register")


@functools.cache
def registered() -> dict[str, list[Node]]:
    fields: dict[str, list[Node]] = {}
    for mod in modules().values():
        for statement in mod.tree.body:
            for sub in ast.walk(statement):
                if not (isinstance(sub, ast.Call) and REGISTRAR in _call_targets(mod, sub.func)):
                    continue
                for call in ast.walk(sub):
                    if isinstance(call, ast.Call):
                        for keyword in call.keywords:
                            if keyword.arg and isinstance(keyword.value, ast.Name):
                                targets = _resolve(mod, keyword.value.id)
                                fields.setdefault(keyword.arg, []).extend(targets)
    return fields


def _self_types(mod: Module, cls: str) -> dict[str, list[Node]]:
    """`self.x = call()` anywhere in the class -> the classes that call returns."""
    types: dict[str, list[Node]] = {}
    for key, definition in mod.defs.items():
        if not key.startswith(f"{cls}."):
            continue
        for sub in ast.walk(definition):
            if isinstance(sub, ast.Assign) and isinstance(sub.value, ast.Call):
                for target in sub.targets:
                    if (
                        isinstance(target, ast.Attribute)
                        and isinstance(target.value, ast.Name)
                        and target.value.id == "self"
                    ):
                        classes = _classes_of_call(mod, sub.value)
                        types.setdefault(target.attr, []).extend(classes)
    return types


def _returned_classes(node: Node) -> list[Node]:
    """The classes a port factory may return: those named in its body."""
    mod = modules()[node[0]]
    definition = mod.defs.get(node[1])
    if definition is None:
        return []
    classes: list[Node] = []
    for sub in ast.walk(definition):
        if isinstance(sub, ast.Name):
            for target in _resolve(mod, sub.id):
                if isinstance(modules()[target[0]].defs.get(target[1]), ast.ClassDef):
                    classes.append(target)
    return classes


def callees(node: Node) -> Iterator[Node]:
    mod = modules()[node[0]]
    if node[1] == "<module>":
        body: list[ast.AST] = [
            s
            for s in mod.tree.body
            if not isinstance(s, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
        ]
    else:
        body = [mod.defs[node[1]]]
    cls = node[1].split(".")[0] if "." in node[1] else None
    local_types = _local_types(mod, body)
    for root in body:
        for sub in ast.walk(root):
            if isinstance(sub, ast.Name):
                for target in _resolve(mod, sub.id):
                    yield from _expand(target)
            elif isinstance(sub, ast.Attribute):
                value = sub.value
                if isinstance(value, ast.Name) and (target_mod := _module_of(mod, value.id)):
                    if sub.attr in modules()[target_mod].defs:
                        yield from _expand((target_mod, sub.attr))
                elif isinstance(value, ast.Name) and value.id in ("self", "cls") and cls:
                    if f"{cls}.{sub.attr}" in mod.defs:
                        yield (mod.name, f"{cls}.{sub.attr}")
                elif isinstance(value, ast.Call):
                    # factory().method(): the method of each class the factory returns
                    yield from _methods(_classes_of_call(mod, value), sub.attr)
                elif isinstance(value, ast.Name) and value.id in local_types:
                    # x = factory(); x.method()
                    yield from _methods(local_types[value.id], sub.attr)
                elif (
                    isinstance(value, ast.Attribute)
                    and isinstance(value.value, ast.Name)
                    and value.value.id == "self"
                    and cls
                ):
                    # self.x = factory() in the class; self.x.method()
                    yield from _methods(_self_types(mod, cls).get(value.attr, []), sub.attr)
            if isinstance(sub, ast.Call) and isinstance(sub.func, ast.Attribute):
                yield from registered().get(sub.func.attr, [])


def _classes_of_call(mod: Module, call: ast.Call) -> list[Node]:
    """The classes a call returns: a class built directly, or those a factory names."""
    classes: list[Node] = []
    for target in _call_targets(mod, call.func):
        if isinstance(modules()[target[0]].defs.get(target[1]), ast.ClassDef):
            classes.append(target)
        else:
            classes.extend(_returned_classes(target))
    return classes


def _local_types(mod: Module, body: list[ast.AST]) -> dict[str, list[Node]]:
    """Names assigned from a call in these statements -> the classes that call returns."""
    types: dict[str, list[Node]] = {}
    for root in body:
        for sub in ast.walk(root):
            if isinstance(sub, ast.Assign) and isinstance(sub.value, ast.Call):
                for target in sub.targets:
                    if isinstance(target, ast.Name):
                        types.setdefault(target.id, []).extend(_classes_of_call(mod, sub.value))
    return types


def _methods(classes: list[Node], name: str) -> Iterator[Node]:
    for klass in classes:
        key = f"{klass[1]}.{name}"
        if key in modules()[klass[0]].defs:
            yield (klass[0], key)


def _call_targets(mod: Module, func: ast.AST) -> list[Node]:
    if isinstance(func, ast.Name):
        return _resolve(mod, func.id)
    if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name):
        target_mod = _module_of(mod, func.value.id)
        if target_mod and func.attr in modules()[target_mod].defs:
            return [(target_mod, func.attr)]
    return []


def aws_operations(node: Node) -> set[str]:
    """`service:Operation` of every boto3 client call in one function."""
    mod = modules()[node[0]]
    if not mod.services or node[1] == "<module>":
        return set()
    found: set[str] = set()
    for sub in ast.walk(mod.defs[node[1]]):
        if not (isinstance(sub, ast.Call) and isinstance(sub.func, ast.Attribute)):
            continue
        names = [sub.func.attr]
        if sub.func.attr in ("generate_presigned_url", "get_paginator") and sub.args:
            first = sub.args[0]
            if isinstance(first, ast.Constant) and isinstance(first.value, str):
                names = [first.value]
        for service in mod.services:
            for name in names:
                operation = service_operations(service).get(name)
                if operation:
                    found.add(f"{iam_prefix(service)}:{operation}")
    return found


# The embedded drivers never run in Lambda (config.backend() refuses them there): the
# inline queue, for one, runs the worker inside the caller, which Lambda never does.
EMBEDDED_ONLY = {
    "chalicelib.queue.memory",
    "chalicelib.tasks.local_worker",
    "chalicelib.blobs.localfs",
    "chalicelib.db.sqlite",
    "chalicelib.cache.memory",
    "chalicelib.secrets.env",
}


def reachable(entries: list[Node]) -> set[Node]:
    seen: set[Node] = set()
    todo = list(entries)
    while todo:
        node = todo.pop()
        if node in seen or node[0] not in modules() or node[0] in EMBEDDED_ONLY:
            continue
        seen.add(node)
        todo.extend(callees(node))
    return seen


def required_actions(entries: list[Node]) -> set[str]:
    actions: set[str] = set()
    for node in reachable(entries):
        for operation in aws_operations(node):
            actions.update(IAM_ACTION.get(operation, [operation]))
    return actions


def _node_of(function: Any) -> Node:
    function = getattr(function, "__wrapped__", function)
    return (function.__module__, function.__qualname__)


@functools.cache
def entry_points() -> dict[str, list[Node]]:
    """Each Lambda function of the app -> the functions its invocations start from."""
    from app import app

    api: list[Node] = [("app", "<module>"), ("chalicelib.edge.http", "install")]
    for methods in app.routes.values():
        for route in methods.values():
            api.append(_node_of(route.view_function))
    entries = {"api_handler": api}
    for source in app.event_sources:
        module, _, name = source.handler_string.rpartition(".")
        entries[source.name] = [(module, name)]
    for function in app.pure_lambda_functions:
        module, _, name = function.handler_string.rpartition(".")
        entries[function.name] = [(module, name)]
    return entries


# ------------------------------------------------------------------ the policies


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def statements(policy: dict[str, Any]) -> list[dict[str, Any]]:
    return [s for s in _as_list(policy["Statement"]) if s["Effect"] == "Allow"]


def granted(policy: dict[str, Any]) -> set[str]:
    return {a for s in statements(policy) for a in _as_list(s["Action"])}


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The prod stage rendered with the example infra outputs: config and policies."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("infra_stage", ROOT / "infra" / "stage.py")
    assert spec and spec.loader
    stage = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(stage)
    outputs = stage.load_outputs(ROOT / "infra" / "example-outputs.json")
    config = stage.stage_config(STAGE, outputs)
    return {
        "outputs": outputs,
        "functions": config["stages"][STAGE]["lambda_functions"],
        "policies": stage.policies(config, STAGE, outputs),
        "names": {
            f: stage.function_name("textfiles", STAGE, f)
            for f in config["stages"][STAGE]["lambda_functions"]
        },
    }


def policy_of(rendered: dict[str, Any], function: str) -> dict[str, Any]:
    name = rendered["functions"][function]["iam_policy_file"]
    policy: dict[str, Any] = rendered["policies"][name]
    return policy


def platform_actions(rendered: dict[str, Any], function: str) -> set[str]:
    """What Lambda needs of this function's role besides its code's calls."""
    settings = rendered["functions"][function]
    actions = LOG_ACTIONS | XRAY_ACTIONS
    if settings.get("subnet_ids"):
        actions |= VPC_ACTIONS
    from app import app

    if any(s.name == function and type(s).__name__ == "SQSEventConfig" for s in app.event_sources):
        actions |= SQS_EVENT_SOURCE_ACTIONS
    if settings.get("environment_variables", {}).get("DATABASE_PROXY_ENDPOINT"):
        actions |= PROXY_LOGIN_ACTIONS  # RDS Proxy: an IAM token per connection (rds_token.py)
    return actions


def test_every_function_of_the_app_has_settings_and_its_own_policy(
    rendered: dict[str, Any],
) -> None:
    functions = set(entry_points())
    assert functions <= set(rendered["functions"]), "a function has no lambda_functions entry"
    files = [rendered["functions"][f]["iam_policy_file"] for f in functions]
    assert len(set(files)) == len(files), "functions share a policy file"


def test_the_scan_finds_the_known_calls() -> None:
    """Guard against a scan that silently finds nothing."""
    entries = entry_points()
    api = required_actions(entries["api_handler"])
    assert {"s3:PutObject", "s3:GetObject", "sqs:SendMessage"} <= api
    assert "secretsmanager:GetSecretValue" in required_actions(entries["daily_health_check"])
    assert not any(a.startswith("s3:") for a in required_actions(entries["daily_health_check"]))


@pytest.mark.parametrize("function", sorted(entry_points()))
def test_policy_grants_exactly_what_the_code_calls(rendered: dict[str, Any], function: str) -> None:
    needed = required_actions(entry_points()[function])
    platform = platform_actions(rendered, function)
    grants = granted(policy_of(rendered, function))
    missing = needed - grants
    assert not missing, f"{function} calls AWS actions its policy does not grant: {missing}"
    unused = grants - needed - platform
    assert not unused, f"{function}'s policy grants actions its code never calls: {unused}"
    assert platform <= grants, f"{function} lacks what Lambda needs: {platform - grants}"


@pytest.mark.parametrize("function", sorted(entry_points()))
def test_policy_resources_are_the_stages_own(rendered: dict[str, Any], function: str) -> None:
    outputs = rendered["outputs"]
    own = [
        outputs["FilesBucketArn"],
        outputs["FilesBucketArn"] + "/*",
        outputs["TaskQueueArn"],
        outputs["DeadLetterQueueArn"],
        outputs["DatabaseSecretArn"],
        outputs["AppDatabaseSecretArn"],
        outputs["DatabaseProxyUserArn"],
        outputs["AlertApiKeySecretArn"],
        outputs["HealthcheckApiKeySecretArn"],
        f"arn:aws:logs:{outputs['Region']}:{outputs['AccountId']}:log-group:"
        f"/aws/lambda/{rendered['names'][function]}:*",
    ]
    for statement in statements(policy_of(rendered, function)):
        actions = set(_as_list(statement["Action"]))
        for resource in _as_list(statement["Resource"]):
            if resource == "*":
                beyond = actions - STAR_ALLOWED
                assert not beyond, f'{function}: "*" for {beyond} (only X-Ray and VPC ENIs)'
                continue
            assert "*" not in resource.rstrip("*") or resource in own, resource
            assert resource in own, f"{function}: {resource} is not one of the stage's resources"
            if resource.startswith("arn:aws:logs:"):
                assert actions <= LOG_ACTIONS


def test_no_wildcard_actions(rendered: dict[str, Any]) -> None:
    for name, policy in rendered["policies"].items():
        for action in granted(policy):
            assert not fnmatch(action, "*:*\\**") and "*" not in action, (name, action)


def test_policies_are_valid_json_documents() -> None:
    for path in (ROOT / ".chalice").glob("policy-*.json"):
        document = json.loads(path.read_text())
        assert document["Version"] == "2012-10-17"


def test_the_proxy_login_is_granted_for_the_proxy_user_only(rendered: dict[str, Any]) -> None:
    """rds-db:connect names the stage's proxy and the application user, nothing wider."""
    user_arn = rendered["outputs"]["DatabaseProxyUserArn"]
    assert user_arn.endswith(":dbuser:prx-0123456789abcdef0/textfiles_app"), user_arn
    granted_to = set()
    for function in entry_points():
        for statement in statements(policy_of(rendered, function)):
            if "rds-db:connect" in _as_list(statement["Action"]):
                assert _as_list(statement["Action"]) == ["rds-db:connect"]
                assert _as_list(statement["Resource"]) == [user_arn]
                granted_to.add(function)
    assert granted_to == {"api_handler", "task_worker", "daily_purge"}

"""A restricted interpreter for the expressions and scripts inside BPMN processes.

Process authors write gateway conditions (`decision == "approve"`), service-task parameters
(`'birth-certificate'`) and small script tasks (`rounds = rounds + 1`). SpiffWorkflow would
hand them to Python's `eval`/`exec`, which can reach anything (`__import__('os')`). Here they
are parsed with `ast` and walked by a small interpreter that knows only a whitelist of node
types: literals, names of task data, arithmetic, comparisons, boolean logic, conditional
expressions, subscripts, and calls of a few named functions and string/dict methods.
Everything else — attribute access, dunder names, imports, lambdas, comprehensions, loops,
walrus, f-strings that format objects — is refused when the process is deployed, and again
when it runs.
"""

from __future__ import annotations

import ast
import datetime
import operator
from collections.abc import Callable, Mapping
from typing import Any


class ScriptError(ValueError):
    """A script or expression that the restricted engine refuses or cannot evaluate."""


#: Functions a script may call, by name.
FUNCTIONS: dict[str, Callable[..., Any]] = {
    "len": len,
    "min": min,
    "max": max,
    "abs": abs,
    "round": round,
    "int": int,
    "float": float,
    "str": str,
    "bool": bool,
    "sum": sum,
    "any": any,
    "all": all,
    "sorted": sorted,
    "today": lambda: datetime.date.today().isoformat(),
}
#: Methods a script may call on values of these types (never on anything else).
METHODS: dict[type, frozenset[str]] = {
    str: frozenset(
        {"lower", "upper", "strip", "startswith", "endswith", "replace", "split", "title"}
    ),
    dict: frozenset({"get", "keys", "values", "items"}),
    list: frozenset({"count", "index"}),
}
CONSTANTS = {"True": True, "False": False, "None": None}
#: Functions the caller supplies with the variables, bound to what it evaluates for (a
#: bundle's screening passes `eligible`, which asks the rules about the person's answers).
CONTEXT_FUNCTIONS = frozenset({"eligible"})

BIN_OPS: dict[type, Callable[[Any, Any], Any]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
    ast.Pow: operator.pow,
}
UNARY_OPS: dict[type, Callable[[Any], Any]] = {
    ast.Not: operator.not_,
    ast.USub: operator.neg,
    ast.UAdd: operator.pos,
}
COMPARE_OPS: dict[type, Callable[[Any, Any], bool]] = {
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
    ast.In: lambda a, b: a in b,
    ast.NotIn: lambda a, b: a not in b,
    ast.Is: operator.is_,
    ast.IsNot: operator.is_not,
}
#: Bounds that keep a script from exhausting memory or time.
MAX_SOURCE = 4000
MAX_SEQUENCE = 10_000
MAX_EXPONENT = 64
MAX_STATEMENTS = 200


def _check_name(name: str) -> None:
    if name.startswith("_"):
        raise ScriptError(f"names starting with an underscore are not allowed: {name}")


def _parse(source: str, mode: str) -> ast.AST:
    if not isinstance(source, str):
        raise ScriptError("a script must be text")
    if len(source) > MAX_SOURCE:
        raise ScriptError(f"scripts are limited to {MAX_SOURCE} characters")
    try:
        tree = ast.parse(source.strip(), mode=mode)
    except SyntaxError as error:
        raise ScriptError(f"syntax error: {error.msg}") from None
    check(tree)
    return tree


ALLOWED_NODES: tuple[type, ...] = (
    ast.Expression,
    ast.Module,
    ast.Assign,
    ast.AugAssign,
    ast.If,
    ast.Pass,
    ast.Expr,
    ast.BoolOp,
    ast.And,
    ast.Or,
    ast.BinOp,
    ast.UnaryOp,
    ast.Compare,
    ast.IfExp,
    ast.Call,
    ast.Name,
    ast.Load,
    ast.Store,
    ast.Constant,
    ast.Dict,
    ast.List,
    ast.Tuple,
    ast.Set,
    ast.Subscript,
    ast.Slice,
    ast.Attribute,
    ast.keyword,
    *BIN_OPS,
    *UNARY_OPS,
    *COMPARE_OPS,
)


def check(tree: ast.AST) -> None:
    """Refuse any node outside the whitelist (run at deployment and before each run)."""
    for node in ast.walk(tree):
        if not isinstance(node, ALLOWED_NODES):
            raise ScriptError(f"{type(node).__name__} is not allowed in process scripts")
        if isinstance(node, ast.Name):
            _check_name(node.id)
        elif isinstance(node, ast.Attribute):
            _check_name(node.attr)
            if not any(node.attr in names for names in METHODS.values()):
                raise ScriptError(f"attribute access is not allowed: .{node.attr}")
        elif isinstance(node, ast.Call):
            if isinstance(node.func, ast.Name):
                if node.func.id not in FUNCTIONS and node.func.id not in CONTEXT_FUNCTIONS:
                    raise ScriptError(f"calling {node.func.id} is not allowed")
            elif not isinstance(node.func, ast.Attribute):
                raise ScriptError("only named functions and whitelisted methods may be called")
        elif isinstance(node, ast.keyword) and node.arg is None:
            raise ScriptError("**arguments are not allowed")
        elif isinstance(node, ast.Constant) and isinstance(node.value, bytes):
            raise ScriptError("bytes are not allowed")


def validate_expression(source: str) -> None:
    _parse(source, "eval")


def validate_script(source: str) -> None:
    tree = _parse(source, "exec")
    if len(tree.body) > MAX_STATEMENTS:
        raise ScriptError(f"scripts are limited to {MAX_STATEMENTS} statements")


class Interpreter:
    """Walks a checked tree over a variables mapping (the task's data)."""

    def __init__(self, variables: dict[str, Any]):
        self.variables = variables

    def eval(self, node: ast.AST) -> Any:
        method = getattr(self, f"_{type(node).__name__}", None)
        if method is None:
            raise ScriptError(f"{type(node).__name__} is not allowed in process scripts")
        return method(node)

    # Statements
    def run(self, body: list[ast.stmt]) -> None:
        for statement in body:
            self.eval(statement)

    def _Expr(self, node: ast.Expr) -> None:
        self.eval(node.value)

    def _Pass(self, node: ast.Pass) -> None:
        return None

    def _Assign(self, node: ast.Assign) -> None:
        value = self.eval(node.value)
        for target in node.targets:
            self._store(target, value)

    def _AugAssign(self, node: ast.AugAssign) -> None:
        current = self.eval(_as_load(node.target))
        self._store(node.target, self._binop(node.op, current, self.eval(node.value)))

    def _If(self, node: ast.If) -> None:
        self.run(node.body if self.eval(node.test) else node.orelse)

    def _store(self, target: ast.AST, value: Any) -> None:
        if isinstance(target, ast.Name):
            _check_name(target.id)
            if target.id in FUNCTIONS or target.id in CONSTANTS:
                raise ScriptError(f"{target.id} cannot be assigned")
            self.variables[target.id] = value
        elif isinstance(target, ast.Subscript):
            container = self.eval(target.value)
            if not isinstance(container, dict | list):
                raise ScriptError("only dictionaries and lists can be assigned into")
            container[self.eval(target.slice)] = value
        else:
            raise ScriptError("only names and subscripts can be assigned")

    # Expressions
    def _Expression(self, node: ast.Expression) -> Any:
        return self.eval(node.body)

    def _Constant(self, node: ast.Constant) -> Any:
        return node.value

    def _Name(self, node: ast.Name) -> Any:
        _check_name(node.id)
        if node.id in CONSTANTS:
            return CONSTANTS[node.id]
        if node.id in self.variables:
            return self.variables[node.id]
        raise ScriptError(f"{node.id} is not defined")

    def _List(self, node: ast.List) -> list:
        return [self.eval(e) for e in node.elts]

    def _Tuple(self, node: ast.Tuple) -> tuple:
        return tuple(self.eval(e) for e in node.elts)

    def _Set(self, node: ast.Set) -> set:
        return {self.eval(e) for e in node.elts}

    def _Dict(self, node: ast.Dict) -> dict:
        if any(key is None for key in node.keys):
            raise ScriptError("**unpacking is not allowed")
        return {self.eval(k): self.eval(v) for k, v in zip(node.keys, node.values, strict=True)}

    def _BoolOp(self, node: ast.BoolOp) -> Any:
        if isinstance(node.op, ast.And):
            result: Any = True
            for value in node.values:
                result = self.eval(value)
                if not result:
                    return result
            return result
        result = False
        for value in node.values:
            result = self.eval(value)
            if result:
                return result
        return result

    def _binop(self, op: ast.operator, left: Any, right: Any) -> Any:
        function = BIN_OPS.get(type(op))
        if function is None:
            raise ScriptError(f"{type(op).__name__} is not allowed")
        if isinstance(op, ast.Pow) and (not isinstance(right, int | float) or right > MAX_EXPONENT):
            raise ScriptError(f"exponents above {MAX_EXPONENT} are not allowed")
        if isinstance(op, ast.Mult):
            for seq, times in ((left, right), (right, left)):
                if (
                    isinstance(seq, str | list | tuple)
                    and isinstance(times, int)
                    and len(seq) * times > MAX_SEQUENCE
                ):
                    raise ScriptError("the result would be too long")
        result = function(left, right)
        if isinstance(result, str | list | tuple) and len(result) > MAX_SEQUENCE:
            raise ScriptError("the result would be too long")
        return result

    def _BinOp(self, node: ast.BinOp) -> Any:
        return self._binop(node.op, self.eval(node.left), self.eval(node.right))

    def _UnaryOp(self, node: ast.UnaryOp) -> Any:
        return UNARY_OPS[type(node.op)](self.eval(node.operand))

    def _Compare(self, node: ast.Compare) -> bool:
        left = self.eval(node.left)
        for op, comparator in zip(node.ops, node.comparators, strict=True):
            right = self.eval(comparator)
            if not COMPARE_OPS[type(op)](left, right):
                return False
            left = right
        return True

    def _IfExp(self, node: ast.IfExp) -> Any:
        return self.eval(node.body) if self.eval(node.test) else self.eval(node.orelse)

    def _Subscript(self, node: ast.Subscript) -> Any:
        container = self.eval(node.value)
        if not isinstance(container, dict | list | tuple | str):
            raise ScriptError("only dictionaries, lists and text can be indexed")
        return container[self.eval(node.slice)]

    def _Slice(self, node: ast.Slice) -> slice:
        return slice(
            self.eval(node.lower) if node.lower else None,
            self.eval(node.upper) if node.upper else None,
            self.eval(node.step) if node.step else None,
        )

    def _Attribute(self, node: ast.Attribute) -> Any:
        raise ScriptError(f"attribute access is not allowed: .{node.attr}")

    def _Call(self, node: ast.Call) -> Any:
        args = [self.eval(a) for a in node.args]
        kwargs = {k.arg: self.eval(k.value) for k in node.keywords}
        if isinstance(node.func, ast.Name):
            function = FUNCTIONS.get(node.func.id)
            if function is None and node.func.id in CONTEXT_FUNCTIONS:
                function = self.variables.get(node.func.id)
                if not callable(function):
                    raise ScriptError(f"{node.func.id}() is not available here")
            if function is None:
                raise ScriptError(f"calling {node.func.id} is not allowed")
            return function(*args, **kwargs)
        if isinstance(node.func, ast.Attribute):
            target = self.eval(node.func.value)
            allowed = METHODS.get(type(target), frozenset())
            if node.func.attr not in allowed:
                raise ScriptError(f"calling .{node.func.attr} is not allowed here")
            return getattr(target, node.func.attr)(*args, **kwargs)
        raise ScriptError("only named functions and whitelisted methods may be called")


def _as_load(target: ast.AST) -> ast.AST:
    if isinstance(target, ast.Name):
        return ast.Name(id=target.id, ctx=ast.Load())
    if isinstance(target, ast.Subscript):
        return ast.Subscript(value=target.value, slice=target.slice, ctx=ast.Load())
    raise ScriptError("only names and subscripts can be assigned")


_EXPRESSIONS: dict[str, ast.AST] = {}
_SCRIPTS: dict[str, ast.AST] = {}


def evaluate(source: str, variables: Mapping[str, Any]) -> Any:
    """The value of an expression over the variables (which it cannot change)."""
    tree = _EXPRESSIONS.get(source)
    if tree is None:
        tree = _EXPRESSIONS[source] = _parse(source, "eval")
    try:
        return Interpreter(dict(variables)).eval(tree)
    except ScriptError:
        raise
    except Exception as error:  # a type error, a missing key: the author's mistake, said plainly
        raise ScriptError(f"{type(error).__name__}: {error}") from None


def execute(source: str, variables: dict[str, Any]) -> None:
    """Run a script; its assignments change `variables` (the task's data)."""
    tree = _SCRIPTS.get(source)
    if tree is None:
        validate_script(source)
        tree = _SCRIPTS[source] = ast.parse(source.strip(), mode="exec")
    try:
        Interpreter(variables).run(tree.body)
    except ScriptError:
        raise
    except Exception as error:
        raise ScriptError(f"{type(error).__name__}: {error}") from None

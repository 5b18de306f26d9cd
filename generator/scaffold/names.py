"""The rules for names the generator meets: packages, models, resource prefixes and template URLs.

Each rule is stated here once. copier.yml validates the same answers with Jinja, which cannot
import this module: it carries the rules as computed answers, and tests/test_rules.py checks
that both agree.
"""

from __future__ import annotations

import keyword
import re

from .errors import InvalidInputError

# sys.stdlib_module_names of Python 3.10 to 3.14, lower-cased (a case-insensitive disk finds `cProfile` as `cprofile`).
STDLIB = frozenset(
    """
    __future__ _abc _aix_support _android_support _ast _asyncio _bisect _blake2 _bootsubprocess _bz2 _codecs
    _codecs_cn _codecs_hk _codecs_iso2022 _codecs_jp _codecs_kr _codecs_tw _collections _collections_abc _colorize
    _compat_pickle _compression _contextvars _crypt _csv _ctypes _curses _curses_panel _datetime _dbm _decimal
    _elementtree _frozen_importlib _frozen_importlib_external _functools _gdbm _hashlib _heapq _hmac _imp
    _interpchannels _interpqueues _interpreters _io _ios_support _json _locale _lsprof _lzma _markupbase _md5 _msi
    _multibytecodec _multiprocessing _opcode _opcode_metadata _operator _osx_support _overlapped _pickle _posixshmem
    _posixsubprocess _py_abc _pydatetime _pydecimal _pyio _pylong _pyrepl _queue _random _remote_debugging _scproxy
    _sha1 _sha2 _sha256 _sha3 _sha512 _signal _sitebuiltins _socket _sqlite3 _sre _ssl _stat _statistics _string
    _strptime _struct _suggestions _symtable _sysconfig _thread _threading_local _tkinter _tokenize _tracemalloc
    _typing _uuid _warnings _weakref _weakrefset _winapi _wmi _zoneinfo _zstd abc aifc annotationlib antigravity
    argparse array ast asynchat asyncio asyncore atexit audioop base64 bdb binascii binhex bisect builtins bz2
    calendar cgi cgitb chunk cmath cmd code codecs codeop collections colorsys compileall compression concurrent
    configparser contextlib contextvars copy copyreg cprofile crypt csv ctypes curses dataclasses datetime dbm
    decimal difflib dis distutils doctest email encodings ensurepip enum errno faulthandler fcntl filecmp fileinput
    fnmatch fractions ftplib functools gc genericpath getopt getpass gettext glob graphlib grp gzip hashlib heapq
    hmac html http idlelib imaplib imghdr imp importlib inspect io ipaddress itertools json keyword lib2to3
    linecache locale logging lzma mailbox mailcap marshal math mimetypes mmap modulefinder msilib msvcrt
    multiprocessing netrc nis nntplib nt ntpath nturl2path numbers opcode operator optparse os ossaudiodev pathlib
    pdb pickle pickletools pipes pkgutil platform plistlib poplib posix posixpath pprint profile pstats pty pwd
    py_compile pyclbr pydoc pydoc_data pyexpat queue quopri random re readline reprlib resource rlcompleter runpy
    sched secrets select selectors shelve shlex shutil signal site smtpd smtplib sndhdr socket socketserver spwd
    sqlite3 sre_compile sre_constants sre_parse ssl stat statistics string stringprep struct subprocess sunau
    symtable sys sysconfig syslog tabnanny tarfile telnetlib tempfile termios textwrap this threading time timeit
    tkinter token tokenize tomllib trace traceback tracemalloc tty turtle turtledemo types typing unicodedata
    unittest urllib uu uuid venv warnings wave weakref webbrowser winreg winsound wsgiref xdrlib xml xmlrpc zipapp
    zipfile zipimport zlib zoneinfo
""".split()  # noqa: SIM905 (a block of names reads better than one per line)
)
# Import names of the project's dependencies: every tracking backend, the extras and the dev tools.
DEPENDENCIES = frozenset(
    """
    _hypothesis_ftz_detector _hypothesis_globals _hypothesis_pytestplugin _pytest _yaml alembic boto3 botocore
    cdk_integration_tests cfnlint check_jsonschema checkov click functorch hatchling hypothesis isal jmespath
    mimeparse mlflow moto numpy omegaconf pil pre_commit py pyarrow pytest rich ruff s3transfer sagemaker
    sagemaker_core sagemaker_inference sagemaker_pytorch_serving_container sast_integration_tests sqlalchemy
    starlette torch torchgen ts typer uv uvicorn wandb yaml zizmor
    """.split()  # noqa: SIM905
)
# What the project itself imports by these names (its test folders, sample data, the template tool).
PROJECT_MODULES = frozenset({"copier", "data", "models", "tests"})
SHADOWED = STDLIB | DEPENDENCIES | PROJECT_MODULES
# Folder names Windows cannot create.
WINDOWS_RESERVED = frozenset(
    {"aux", "con", "nul", "prn", *(f"{port}{n}" for port in ("com", "lpt") for n in range(10))}
)
# Modules of the package a model folder would clash with; probe is the core tests' own model.
MODEL_RESERVED = frozenset({"cli", "core", "models", "probe", "settings", "tests"})
# A package or model name: a lower-case Python identifier (True, False and None are not lower-case).
IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]*$")
KEYWORDS = frozenset(word for word in keyword.kwlist if word.islower())
# A model's SageMaker model and endpoint configuration are named <prefix>--<model>-<stage>-<12-hex release
# hash> (core/cloud/aws.py, infra/model.yaml), and SageMaker names hold at most 63 characters.
SAGEMAKER_NAME_MAX, LONGEST_STAGE, RELEASE_SUFFIX = 63, "prod", 13

# Template sources copier fetches with git: a URL git reads (copier's `git+` prefix aside), or one of
# copier's shorthands for a host, which only copier reads. Any other source is a local folder.
GIT_URL = re.compile(r"^(https?://|ssh://|git@|git\+|file://)")
SHORTHANDS = {"gh:": "https://github.com/", "gl:": "https://gitlab.com/"}
# A core repository's URL as pip reads it in `<core> @ git+<url>@<tag>` (copier.yml's core_url).
CORE_URL = re.compile(r"^(https?://|ssh://|file://)[^ ]+$")


def resource_prefix(project_name: str) -> str:
    """The resource prefix copier.yml derives from a project name (projects that do not record one)."""
    return re.sub(r"[^a-z0-9]+", "-", project_name.lower())[:30].strip("-")


def longest_model_name(prefix: str) -> int:
    """How long a model name can be for `<prefix>--<model>-<longest stage>-<release hash>` to fit SageMaker."""
    return SAGEMAKER_NAME_MAX - RELEASE_SUFFIX - len(f"{prefix}---{LONGEST_STAGE}")


def check_package_name(name: str) -> str:
    """`name` if it can name the project's package, else why not (copier.yml's package_name validator)."""
    _check_identifier(name, "package")
    if name in SHADOWED:
        raise InvalidInputError(f"invalid package name '{name}': it would shadow the module of that name")
    return name


def check_model_name(name: str, prefix: str | None = None) -> str:
    """`name` if it can name a model package (of a project with resource prefix `prefix`), else why not."""
    _check_identifier(name, "model")
    if name in MODEL_RESERVED or name.startswith("_"):
        raise InvalidInputError(f"invalid model name '{name}': it clashes with a module of the package")
    if prefix is not None and len(name) > (limit := longest_model_name(prefix)):
        raise InvalidInputError(
            f"invalid model name '{name}': {len(name)} characters, at most {limit} fit SageMaker's 63-character "
            f"names ({prefix}--<model>-{LONGEST_STAGE}-<release hash>)"
        )
    return name


def _check_identifier(name: str, what: str) -> None:
    """Refuse `name` for a `what` (package or model) folder unless it is a lower-case identifier Windows can create."""
    if not IDENTIFIER.match(name):
        raise InvalidInputError(
            f"invalid {what} name '{name}': use lower-case letters, digits and '_', not starting with a digit"
        )
    if name in KEYWORDS:
        raise InvalidInputError(f"invalid {what} name '{name}': it is a Python keyword")
    if name in WINDOWS_RESERVED:
        raise InvalidInputError(f"invalid {what} name '{name}': Windows cannot create a folder of that name")


def is_remote(source: str) -> bool:
    """Whether copier fetches the template `source` with git (a URL or a shorthand), not reads a local folder."""
    return bool(GIT_URL.match(source)) or is_shorthand(source)


def is_shorthand(source: str) -> bool:
    """Whether `source` is one of copier's host shorthands (`gh:owner/repo`), which git itself does not read."""
    return source.startswith(tuple(SHORTHANDS))


def git_url(source: str) -> str:
    """The remote template `source` as git reads it: copier's `git+` prefix dropped, a shorthand expanded."""
    url = source.removeprefix("git+")
    for short, long in SHORTHANDS.items():
        url = long + url.removeprefix(short) if url.startswith(short) else url
    return url

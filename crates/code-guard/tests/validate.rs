use code_guard::{allowed_modules, validate, Policy, Rejection};

fn check(code: &str) -> Result<(), Rejection> {
    validate(code, &Policy::default())
}

#[track_caller]
fn accepts(code: &str) {
    if let Err(r) = check(code) {
        panic!(
            "expected acceptance of {code:?}, got [{}] {}",
            r.rule, r.message
        );
    }
}

/// Asserts the rule id and returns the message for further checks.
#[track_caller]
fn rejects(code: &str, rule: &str) -> String {
    match check(code) {
        Ok(()) => panic!("expected rule {rule} to refuse {code:?}, but it was accepted"),
        Err(r) => {
            assert_eq!(r.rule, rule, "wrong rule for {code:?}: {}", r.message);
            assert_eq!(r.to_string(), r.message);
            r.message
        }
    }
}

// ------------------------------------------------------------- accepted code

#[test]
fn accepts_groupby() {
    accepts("result = df.groupby('category')['revenue'].sum().sort_values(ascending=False)");
}

#[test]
fn accepts_scipy_stats() {
    accepts("from scipy import stats\nt, p = stats.ttest_ind(df['a'], df['b'])\nresult = {'t': t, 'p': p}");
}

#[test]
fn accepts_sklearn_trailing_underscore() {
    accepts(
        "from sklearn.linear_model import LinearRegression\n\
         m = LinearRegression().fit(df[['x']], df['y'])\nresult = m.coef_[0]",
    );
}

#[test]
fn accepts_seaborn_matplotlib() {
    accepts(
        "import seaborn as sns\nimport matplotlib.pyplot as plt\nfig, ax = plt.subplots()\n\
         sns.barplot(data=df, x='a', y='b', ax=ax)\nresult = fig",
    );
}

#[test]
fn accepts_statsmodels_formula() {
    accepts(
        "import statsmodels.formula.api as smf\nresult = smf.ols('y ~ x', data=df).fit().params",
    );
    accepts("import statsmodels.api as sm\nfrom statsmodels.tsa.seasonal import seasonal_decompose\nresult = 1");
}

#[test]
fn accepts_datetime_accessor() {
    accepts("result = pd.to_datetime(df['date']).dt.year.value_counts()");
}

#[test]
fn accepts_common_idioms() {
    accepts("result = df.to_dict('records')");
    accepts("result = df['a'].apply(lambda v: v * 2)");
    accepts("result = [x * 2 for x in df['a'] if x > 0]");
    accepts("result = {k: v for k, v in zip(df['a'], df['b'])}");
    accepts("n = len(df)\nresult = f'{n} rows, mean {df[\"a\"].mean():.2f}'");
    accepts("try:\n    result = df['a'].sum()\nexcept KeyError as e:\n    result = str(e)");
    accepts("if len(df) > 10:\n    result = df.head()\nelse:\n    result = df");
    accepts("def top(d, n=3):\n    return d.nlargest(n, 'a')\nresult = top(df)");
    accepts("result = df.describe().to_string()");
    accepts("result = df.head().to_csv()");
    accepts("result = df.head().to_csv(index=False)");
    accepts("import numpy as np\nresult = np.linalg.norm(df[['a', 'b']].values)");
    accepts("import numpy as np\nimport pandas as pd\nresult = pd.Series(np.random.default_rng(0).normal(size=5))");
    accepts("from collections import Counter\nresult = Counter(df['a'])");
    accepts("import math, json\nresult = json.dumps({'pi': math.pi})");
    accepts("result = df.pivot_table(index='a', columns='b', values='c', aggfunc='sum')");
    accepts("result = df.loc[df['a'] > 1, ['a', 'b']]");
    accepts("with_items = df['a'].tolist()\nresult = with_items");
    accepts("print(df.shape)\nresult = df.shape");
}

#[test]
fn accepts_result_bindings() {
    accepts("result: int = 3");
    accepts("result = 0\nresult += 1");
    accepts("for result in range(3):\n    pass");
    accepts("if (result := df['a'].sum()) > 0:\n    pass");
    accepts("def f():\n    return 1\nresult, other = f(), 2");
}

#[test]
fn result_not_required_when_policy_off() {
    let policy = Policy {
        require_result: false,
        ..Policy::default()
    };
    assert_eq!(validate("df['a'].sum()", &policy), Ok(()));
}

// ------------------------------------------------------------ basic rules

#[test]
fn rejects_empty() {
    assert_eq!(rejects("", "empty"), "Empty code provided");
    rejects("   \n\t ", "empty");
}

#[test]
fn rejects_too_long() {
    let code = format!("result = '{}'", "x".repeat(20_000));
    let msg = rejects(&code, "length");
    assert!(
        msg.starts_with("Code exceeds maximum length of 10000 characters"),
        "{msg}"
    );
    let small = Policy {
        max_code_len: 5,
        ..Policy::default()
    };
    let err = validate("result = 1", &small).unwrap_err();
    assert!(err
        .message
        .starts_with("Code exceeds maximum length of 5 characters"));
}

#[test]
fn rejects_syntax_error_with_line() {
    let msg = rejects("result = (", "syntax");
    assert!(msg.starts_with("Syntax error at line 1:"), "{msg}");
    // Unexpected EOF after trailing newlines still points at the last code line.
    let msg = rejects("result = (\n\n", "syntax");
    assert!(msg.starts_with("Syntax error at line 1:"), "{msg}");
    let msg = rejects("x = 1\nresult = = 2", "syntax");
    assert!(msg.starts_with("Syntax error at line 2:"), "{msg}");
}

#[test]
fn rejects_missing_result() {
    let msg = rejects("df['a'].sum()", "result");
    assert!(msg.starts_with("Code must assign a value to variable 'result'"));
    // A bare annotation, a comprehension variable or a read is not an assignment.
    rejects("result: int", "result");
    rejects("x = [result for result in range(3)]", "result");
    rejects("print(result)", "result");
}

// ------------------------------------------------------------------ imports

#[test]
fn rejects_forbidden_imports() {
    let msg = rejects("import os", "import");
    assert!(msg.starts_with("Forbidden import: 'os' at line 1"), "{msg}");
    assert!(msg.contains("pandas, "), "{msg}");
    for code in [
        "import subprocess",
        "from os import path",
        "import pandas.io.common",
        "from builtins import open as o",
        "import pickle",
        "import importlib",
        "import ctypes",
        "import socket",
        "import requests",
        "import urllib.request",
        "import time",
        "import sys",
        "from pandas import io",
        "from scipy import io",
        "import scipy.io",
        "import matplotlib.backends.backend_agg",
        "import numpy.ctypeslib",
        "import sklearn.utils",
        "import pandas as pd, os",
    ] {
        rejects(code, "import");
    }
}

#[test]
fn rejects_relative_and_star_imports() {
    let msg = rejects("from . import x", "import");
    assert!(msg.contains("relative import at line 1"), "{msg}");
    rejects("from .pandas import x", "import");
    let msg = rejects("from pandas import *", "import");
    assert!(msg.contains("import *"), "{msg}");
}

#[test]
fn from_import_names_get_member_rules() {
    rejects("from pandas import read_csv", "file-io");
    rejects("from numpy import load", "file-io");
    rejects("from pandas import eval", "string-eval");
    rejects("from operator import attrgetter", "builtin");
    rejects("from pandas import _libs", "private");
    rejects("from pandas import __builtins__", "dunder");
}

#[test]
fn import_line_numbers() {
    let msg = rejects("import pandas as pd\n\nimport os\nresult = 1", "import");
    assert!(msg.contains("at line 3"), "{msg}");
}

// ----------------------------------------------------------------- builtins

#[test]
fn rejects_forbidden_builtins() {
    let msg = rejects("result = open('/etc/passwd').read()", "builtin");
    assert!(
        msg.starts_with("Forbidden built-in function: open (line 1)"),
        "{msg}"
    );
    let msg = rejects("x = 1\ny = 2\nresult = eval('1+1')", "builtin");
    assert!(
        msg.starts_with("Forbidden built-in function: eval (line 3)"),
        "{msg}"
    );
    for code in [
        "exec('x=1')",
        "result = getattr(pd, 'read_csv')('x')",
        "__import__('os')",
        "result = vars()",
        "result = globals()['__builtins__']",
        "breakpoint()",
        "f = eval\nresult = f('1')",
        "result = super()",
        "result = [dir(x) for x in [df]]",
        "result = df.apply(lambda r: compile('1', 'f', 'eval'))",
        "import operator\nresult = operator.attrgetter('_mgr')(df)",
    ] {
        rejects(code, "builtin");
    }
}

#[test]
fn type_is_only_allowed_with_one_argument() {
    accepts("result = type(df)");
    let msg = rejects("type('X', (), {})", "builtin");
    assert!(
        msg.starts_with("Forbidden built-in function: type()"),
        "{msg}"
    );
    rejects("result = type(*args)", "builtin");
}

// ------------------------------------------------- dunder / private / internals

#[test]
fn rejects_dunders() {
    let msg = rejects("result = df.__class__", "dunder");
    assert!(
        msg.starts_with("Forbidden dunder attribute: '__class__' at line 1"),
        "{msg}"
    );
    rejects("().__class__.__bases__[0].__subclasses__()", "dunder");
    rejects("result = __builtins__", "dunder");
    rejects("result = '{0.__class__}'.format(df)", "dunder");
    rejects(
        "class A:\n    def __init__(self):\n        pass\nresult = A()",
        "dunder",
    );
    rejects("def f(__x__):\n    return 1\nresult = f(1)", "dunder");
}

#[test]
fn rejects_private_attributes() {
    let msg = rejects("result = pd._libs", "private");
    assert!(msg.contains("'pd._libs' at line 1"), "{msg}");
    rejects("result = df._mgr", "private");
    rejects("result = df.groupby('a')._obj_with_exclusions", "private");
}

#[test]
fn rejects_module_internals() {
    let msg = rejects("pd.io.common.os.system('id')", "module-internals");
    assert!(msg.contains("'pd.io'"), "{msg}");
    rejects("result = np.ctypeslib", "module-internals");
    rejects("result = np.lib.stride_tricks", "module-internals");
    rejects("result = sys.modules", "module-internals");
    rejects("os.system('id')", "module-internals");
    rejects("result = df.a.os", "module-internals");
    rejects("result = pd.compat", "module-internals");
    // Frames reached without any dunder.
    rejects(
        "g = (x for x in [1])\nresult = g.gi_frame.f_builtins['eval']",
        "module-internals",
    );
    accepts("from scipy.stats import f_oneway\nresult = f_oneway(df['a'], df['b'])");
    // `io`/`core`/`lib`/`util(s)` are refused on any object: a module can be
    // reached without its alias (`from seaborn import axisgrid`).
    rejects("result = df.io.sum()", "module-internals");
    rejects(
        "from seaborn import axisgrid\nresult = axisgrid.utils",
        "module-internals",
    );
}

// ------------------------------------------------------------ string eval

#[test]
fn rejects_string_eval_methods() {
    let msg = rejects("result = df.query('a > 1')", "string-eval");
    assert!(
        msg.starts_with("Forbidden method call: 'df.query' at line 1"),
        "{msg}"
    );
    rejects("result = pd.eval('1+1')", "string-eval");
    rejects("result = df.eval('c = a + b')", "string-eval");
    rejects("q = df.query\nresult = q('a > 1')", "string-eval");
    rejects("result = df.agg('query', expr='a > 1')", "string-eval");
}

// ------------------------------------------------------------------ file io

#[test]
fn rejects_file_and_network_io() {
    let msg = rejects("result = pd.read_csv('http://evil/x.csv')", "file-io");
    assert!(
        msg.starts_with("Forbidden method call: 'pd.read_csv' at line 1"),
        "{msg}"
    );
    for code in [
        "result = pickle.loads(b'')",
        "df.to_csv('/home/user/data.csv')\nresult = 1",
        "df.to_csv(path_or_buf='x.csv')\nresult = 1",
        "df.to_csv(**opts)\nresult = 1",
        "df.to_parquet(path='x')\nresult = 1",
        "df.to_pickle('x')\nresult = 1",
        "df.to_excel('x.xlsx')\nresult = 1",
        "plt.savefig('x.png')\nresult = 1",
        "fig.savefig('x.png')\nresult = 1",
        "np.save('x', df.values)\nresult = 1",
        "result = np.load('x.npy')",
        "result = np.loadtxt('x')",
        "result = pd.read_pickle('x')",
        "result = pd.HDFStore('x')",
        "from sklearn.datasets import fetch_openml\nresult = fetch_openml('x')",
        "result = sns.load_dataset('tips')",
        "w = df.to_csv\nw('x.csv')\nresult = 1",
        "result = df.agg('to_pickle', 'x.pkl')",
        "result = joblib.load('m')",
        "df.values.dump('x')\nresult = 1",
        "fig.canvas.print_png('x.png')\nresult = 1",
    ] {
        rejects(code, "file-io");
    }
}

#[test]
fn string_writers_without_path_are_fine() {
    accepts("result = df.to_json(orient='records')");
    accepts("result = df.to_html()");
    accepts("result = df.to_markdown()");
    accepts("result = df.to_numpy()");
    accepts("result = df['a'].to_list()");
    accepts("result = pd.to_numeric(df['a'], errors='coerce')");
}

// ------------------------------------------------------------ nested places

#[test]
fn checks_reach_every_nested_position() {
    for (code, rule) in [
        ("result = [eval(x) for x in ['1']]", "builtin"),
        ("result = [x for x in open('f')]", "builtin"),
        ("result = {k: 1 for k in range(3) if exec('1')}", "builtin"),
        ("def f(x=open('f')):\n    return x\nresult = f()", "builtin"),
        ("def f(x: eval = 1):\n    return x\nresult = f()", "builtin"),
        ("@eval\ndef f():\n    pass\nresult = 1", "builtin"),
        ("result = df.apply(func=eval)", "builtin"),
        ("with open('f') as result:\n    pass", "builtin"),
        ("result = f'{open(\"f\").read()}'", "builtin"),
        ("result = lambda: df.__class__", "dunder"),
        ("result = df[df.__class__]", "dunder"),
        ("class A(metaclass=eval):\n    pass\nresult = 1", "builtin"),
        (
            "match df:\n    case {'a': x}:\n        result = open('f')",
            "builtin",
        ),
        (
            "match df:\n    case object(__class__=c):\n        result = c",
            "dunder",
        ),
        (
            "try:\n    pass\nexcept eval:\n    pass\nresult = 1",
            "builtin",
        ),
        ("assert df, eval('1')\nresult = 1", "builtin"),
        ("result = (lambda *a, **k: 1)(*[open('f')])", "builtin"),
        ("global __builtins__\nresult = 1", "dunder"),
    ] {
        rejects(code, rule);
    }
}

#[test]
fn allowed_modules_lists_roots() {
    let modules = allowed_modules();
    for expected in [
        "pandas",
        "numpy",
        "scipy",
        "sklearn",
        "statsmodels",
        "seaborn",
        "matplotlib.pyplot",
        "json",
    ] {
        assert!(modules.contains(&expected), "missing {expected}");
    }
    assert!(!modules.contains(&"time"));
    assert!(!modules.contains(&"os"));
}

#[test]
fn rejection_is_an_error() {
    let err: Box<dyn std::error::Error> = Box::new(check("import os").unwrap_err());
    assert!(err.to_string().starts_with("Forbidden import"));
}

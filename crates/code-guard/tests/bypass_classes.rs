//! Bypass classes found by an attack pass: each class is closed by a rule,
//! and each test lists many spellings of it (aliases, from-imports, chains,
//! strings computed at run time, nested containers). The last tests list
//! ordinary analysis code real models write, which must stay accepted.

use code_guard::{validate, Policy};

/// Asserts every case is refused by `rule`; reports all mismatches at once.
#[track_caller]
fn refused(rule: &str, cases: &[&str]) {
    let failures: Vec<String> = cases
        .iter()
        .filter_map(|code| match validate(code, &Policy::default()) {
            Ok(()) => Some(format!("accepted:\n{code}")),
            Err(r) if r.rule != rule => Some(format!("[{}] {}\n{code}", r.rule, r.message)),
            Err(_) => None,
        })
        .collect();
    assert!(
        failures.is_empty(),
        "expected rule {rule}:\n\n{}",
        failures.join("\n\n")
    );
}

#[track_caller]
fn accepted(cases: &[&str]) {
    let failures: Vec<String> = cases
        .iter()
        .filter_map(|code| {
            validate(code, &Policy::default())
                .err()
                .map(|r| format!("[{}] {}\n{code}", r.rule, r.message))
        })
        .collect();
    assert!(
        failures.is_empty(),
        "expected acceptance:\n\n{}",
        failures.join("\n\n")
    );
}

// ------------------------------------------------ (a) names resolved from strings

#[test]
fn reflection_helpers_under_any_spelling() {
    refused(
        "builtin",
        &[
            "from operator import attrgetter as g\nresult = g('x')(df)",
            "import operator as o\nresult = o.attrgetter('x')(df)",
            "import operator as o\nf = o.methodcaller\nresult = 1",
            "from operator import methodcaller\nresult = methodcaller('sum')(df)",
            "import functools\nresult = functools.reduce(getattr, ['x'], df)",
            "import functools\ng = getattr\nresult = 1",
            "result = df.pipe(getattr, 'x')",
        ],
    );
}

#[test]
fn string_to_object_resolvers() {
    refused(
        "reflection",
        &[
            "import pandas as pd\nresult = pd.x.resolve_name('os:system')",
            "result = np.locate('os.system')",
            "result = df.import_module('os')",
            "import matplotlib as mpl\nresult = mpl.getattr_static(df, 'x')",
            "result = plt.get_type_hints(f)",
            "result = pd.get_objects()",
            "result = np.get_referrers(df)",
            "result = np.get_referents(df)",
            "import statsmodels.api as sm\nresult = sm.dictConfig({})",
            "result = np.fileConfig('x')",
            "result = np.FunctionType(c, {})",
            "result = np.CodeType",
            "result = np.lib_.getmembers(df)",
            "x = plt.walk_stack(None)\nresult = 1",
            "from scipy import LowLevelCallable\nresult = 1",
            "import scipy\nresult = scipy.LowLevelCallable.from_cython",
            "result = np.as_strided(df.values, (10**9,), (1,))",
            "from seaborn import make_dataclass\nresult = 1",
        ],
    );
}

#[test]
fn stdlib_modules_exposed_by_allowed_packages() {
    refused(
        "module-internals",
        &[
            // Modules the allowed packages import and so expose.
            "import matplotlib as mpl\nresult = mpl.inspect.getmembers(df)",
            "import matplotlib.pyplot as p\nresult = p.threading.Thread",
            "result = plt.inspect",
            "import re\nresult = re.copyreg",
            "import re\nresult = re.enum.Enum('E', {})",
            "import json\nresult = json.codecs.lookup('x')",
            "from statsmodels.regression import mixed_linear_model as m\nresult = m.tokenize",
            "import sklearn.impute as si\nresult = si.typing.get_type_hints",
            "from scipy.spatial import distance\nresult = distance.dataclasses",
            "result = plt.gc.get_objects()",
            "result = np.weakref",
            "result = plt.logging.config",
            "result = plt.tempfile.mkdtemp()",
            "result = plt.traceback.walk_stack(None)",
            "result = plt.webbrowser",
            "result = plt.urllib",
            "import statsmodels.api as sm\nresult = sm.tools.web.webbrowser",
            "import matplotlib.colors as c\nresult = c.Image.open('x')",
            "import matplotlib as mpl\nresult = mpl.image.PIL",
            "import matplotlib as mpl\nresult = mpl.cbook.get_sample_data('x')",
            "import seaborn as sns\nresult = sns.external.docscrape.pydoc.locate('os')",
            // Library internals reached without the usual alias.
            "import seaborn as s\nresult = s.utils.urlretrieve",
            "import seaborn.axisgrid as ag\nresult = ag.utils",
            "from seaborn import axisgrid\nresult = axisgrid.utils",
            "import pandas as pandas_module\nresult = pandas_module.io.common",
            "import numpy as n\nresult = n.lib.stride_tricks",
            "result = np.core.multiarray",
            "result = pd.api.internals",
            "import scipy.linalg\nresult = scipy.linalg.cython_blas",
            // Module objects passed around as values escape every chain rule.
            "import seaborn as sns\nm = sns\nresult = m",
            "result = [np]",
            "def f(m):\n    return m\nresult = f(pd)",
            // Denied paths, whatever the alias.
            "import scipy as sp\nresult = sp.datasets.face()",
            "import statsmodels.tsa as t\nresult = t.x13",
            "result = np.info(df)",
        ],
    );
    refused(
        "import",
        &[
            "import scipy.datasets",
            "from scipy import datasets\nresult = 1",
            "from matplotlib import cbook",
            "from seaborn import external",
            "import statsmodels.tools.web",
            "import statsmodels.sandbox.tools",
            "from string import Formatter",
            "from numpy import info",
            "from scipy.linalg import cython_blas",
            "from seaborn import utils",
            "from sklearn import utils as u",
        ],
    );
}

#[test]
fn builtins_reached_as_attributes() {
    refused(
        "builtin",
        &[
            "result = plt.bltns.exec('1')",
            "result = np.x.open('/etc/passwd')",
            "result = pd.y.getattr(df, 'x')",
            "result = plt.vars(df)",
            "result = plt.compile('1', 'f', 'exec')",
        ],
    );
    accepted(&[
        "import re\nresult = re.compile(r'\\d+').findall('a1b22')",
        "import re as regex\nresult = regex.compile('a').pattern",
    ]);
}

#[test]
fn string_formatter_class() {
    refused(
        "module-internals",
        &[
            "import string\nresult = string.Formatter().get",
            "import string as s\nf = s.Formatter\nresult = 1",
        ],
    );
    refused(
        "reflection",
        &[
            "result = fmt.get_field('0.x', (df,), {})",
            "result = fmt.vformat('{0}', (df,), {})",
        ],
    );
}

#[test]
fn format_templates_with_traversal() {
    refused(
        "format-traversal",
        &[
            "result = '{0.x.y}'.format(df)",
            "result = '{x.y}'.format_map({'x': df})",
            "result = '{0[a]}'.format({'a': 1})",
            "result = '{.real}'.format(3)",
            "result = '{0:{1.x}}'.format(1, df)",
            "result = 'total {0.shape}'.format(df)",
            "t = '{0.' + 'shape}'\nresult = t.format(df)",
            "t = '{0.shape}'\nresult = 1",
            "result = ('{0' + '.x}').format(df)",
            "result = ''.join(['{0', '.x}']).format(df)",
            "result = f'{{0.x}}'.format(df)",
            "result = str.format(t, df)",
            "f = t.format\nresult = f(df)",
            "result = tmpl.format_map(vars_)",
            "result = df.style.format('{0.real}')",
            "import matplotlib.ticker as mt\nresult = mt.StrMethodFormatter('{x.real}')",
            "import matplotlib.ticker as mt\nresult = mt.StrMethodFormatter(t)",
            "fig, ax = plt.subplots()\nb = ax.bar([1], [2])\nax.bar_label(b, fmt='{:' + x + '}')\nresult = fig",
            "result = df.style.format(t)",
            "result = df.style.format(formatter={'a': t})",
        ],
    );
    accepted(&[
        "result = '{} rows, {:.2f} mean'.format(len(df), df['a'].mean())",
        "result = '{0:>10} {1:,}'.format('a', 1000)",
        "result = '{name}: {value:.1%}'.format(name='a', value=0.5)",
        "result = str.format('{:.2f}', 3.14159)",
        "pd.options.display.float_format = '{:,.2f}'.format\nresult = df.describe()",
        "result = df.to_string(float_format='{:.1f}'.format)",
        "result = df.style.format('{:.2f}')",
        "result = df.style.format({'a': '{:.1%}'}).highlight_max()",
        "result = df.style.highlight_max().format(precision=2)",
        "import json\nresult = json.loads('{\"a.b\": 1}')",
        "import re\nresult = re.findall(r'\\d{2,3}.\\d{4}', 'x')",
        "result = df['a'].map('{:.1f}'.format)",
        "fig, ax = plt.subplots()\nb = ax.bar([1], [2])\nax.bar_label(b, fmt='{:,.0f}')\nresult = fig",
        "import seaborn as sns\nresult = sns.heatmap(df.corr(), annot=True, fmt='.2f')",
        "fmt = '{:.1%}'\nresult = df.style.format(fmt)",
    ]);
}

// ------------------------------------------------ (b) pandas methods called by name

#[test]
fn dispatch_by_computed_string() {
    refused(
        "string-dispatch",
        &[
            "result = df.agg('ev' + 'al', 'a + 1')",
            "name = 'ev' + 'al'\nresult = df.agg(name, 'a')",
            "result = df.agg(''.join(['e', 'v', 'a', 'l']), 'a')",
            "m = 'val'\nresult = df.agg(f'e{m}', 'a')",
            "result = df.agg(str('EVAL').lower(), 'a')",
            "result = df.apply('xeval'.replace('x', ''), 'a')",
            "result = df.transform('to_' + 'csv', 'x.csv')",
            "result = df.aggregate(['sum', 'ev' + 'al'])",
            "result = df.agg({'a': 'sum', 'b': ['min', 'q' + 'uery']})",
            "result = df.agg({'a': ['min', ''.join('lave'[::-1])]})",
            "result = df.groupby('k').agg(t=('v', 'ev' + 'al'))",
            "result = df.groupby('k').agg(t=pd.NamedAgg('v', 'ev' + 'al'))",
            "result = df.groupby('k').agg(t=pd.NamedAgg(column='v', aggfunc='to_' + 'csv'))",
            "result = df.groupby('k')['v'].agg(t='to_' + 'csv')",
            "result = df.resample('M').apply('ev' + 'al')",
            "result = df.rolling(3).agg(['mean', 'x' + 'y'])",
            "result = df.expanding().aggregate('to' + '_csv')",
            "result = df.ewm(span=3).agg(x)",
            "result = df.pivot_table(index='a', aggfunc='to_' + 'csv')",
            "result = pd.pivot_table(df, 'v', 'a', 'b', 'to_' + 'csv')",
            "result = pd.crosstab(df.a, df.b, values=df.v, aggfunc=''.join(x))",
            "import seaborn as sns\nresult = sns.barplot(data=df, x='a', y='b', estimator='to_' + 'csv')",
            // Method names that are not aggregations, as literals.
            "result = df.agg('to_dict')",
            "result = df.apply('pipe', f)",
            "result = df.groupby('k').transform('apply', f)",
            "result = df.groupby('k').agg(t=('v', 'astype'))",
            // Literal lists that are changed before use.
            "funcs = ['sum']\nfuncs.append(name)\nresult = df.agg(funcs)",
            "funcs = ['sum']\nfuncs[0] = name\nresult = df.agg(funcs)",
            "funcs = ['sum']\nother = funcs\nresult = df.agg(funcs)",
            "funcs = {'a': 'sum'}\nfuncs.update(b=x)\nresult = df.agg(funcs)",
            "how = 'sum'\nhow += 'x'\nresult = df.agg(how)",
            "for how in ['sum', 'ev' + 'al']:\n    result = df.agg(how)",
            "def f(how):\n    return df.agg(how)\nresult = f('sum')",
            // Names that are not functions of the code or libraries.
            "result = df.agg(some_namespace_variable)",
            "result = df.agg(obj.attr)",
            "result = df.agg(pd.options.display.encoding)",
            "result = df.agg(*specs)",
            "result = df.agg(**specs)",
            "result = df.agg({**specs})",
            "result = df.groupby('k').filter('ev' + 'al')",
            "result = df.groupby('k').filter(cols)",
            // Library results are pandas objects again.
            "import statsmodels.formula.api as smf\nres = smf.ols('y ~ x', data=df).fit()\nresult = res.conf_int().transform(name, 'a')",
            "import statsmodels.formula.api as smf\nresult = smf.ols('y ~ x', data=df).fit().resid.agg(name)",
            "from sklearn.preprocessing import StandardScaler\nresult = StandardScaler().fit(df).mean_.apply(name)",
            "result = df.rolling(3, win_type='gaus' + 'sian').sum(std=1)",
            "import seaborn.objects as so\nresult = so.Agg('ev' + 'al')",
            "from seaborn.objects import Est\nresult = Est(func=name)",
        ],
    );
}

#[test]
fn pipe_takes_only_functions() {
    refused(
        "string-dispatch",
        &[
            "result = df.pipe('sum')",
            "result = df.pipe((f, 'data'))",
            "result = df.pipe(name)",
            "result = df.pipe(func='x' + 'y')",
        ],
    );
    accepted(&[
        "def add(d, n):\n    return d + n\nresult = df.pipe(add, 2)",
        "result = df.pipe(lambda d: d.head())",
        "result = df.pipe(pd.DataFrame.head, 3)",
    ]);
}

#[test]
fn aggregations_still_accepted() {
    accepted(&[
        "result = df.groupby('a')['b'].agg(['mean', 'sum'])",
        "result = df.agg({'a': 'sum', 'b': ['min', 'max']})",
        "result = df['x'].apply(lambda v: v * 2)",
        "result = df.apply(np.sum)",
        "result = df['x'].map({'a': 1})",
        "result = df['x'].map(str.upper)",
        "result = df.groupby('k').agg(total=('v', 'sum'), n=('v', 'count'))",
        "result = df.groupby('k').agg(total=pd.NamedAgg(column='v', aggfunc='sum'))",
        "result = df.groupby('k')['v'].agg(total='sum', avg='mean')",
        "result = df.transform('mean')",
        "result = df.pivot_table(index='a', values='v', aggfunc='mean')",
        "result = df.pivot_table('v', 'a', 'b', 'sum')",
        "result = df.pivot_table(index='a', values='v', aggfunc=['mean', np.median])",
        "result = pd.crosstab(df['a'], df['b'], values=df['v'], aggfunc='sum')",
        "result = df.resample('M').sum()",
        "result = df.set_index('d').resample('W').agg({'v': 'sum', 'p': 'last'})",
        "result = df['v'].rolling(7).agg(['mean', 'std'])",
        "result = df['v'].ewm(span=5).mean()",
        "result = df.groupby('k')['v'].transform('cumsum')",
        "result = df.groupby('k')['v'].transform(lambda s: s - s.mean())",
        "result = df.agg('quantile', q=0.9)",
        "result = df.groupby('k').agg(len)",
        "result = df.apply(len, axis=1)",
        "def spread(s):\n    return s.max() - s.min()\nresult = df.groupby('k')['v'].agg(['mean', spread])",
        "aggs = {'v': ['sum', 'mean'], 'w': 'max'}\nprint(aggs)\nresult = df.groupby('k').agg(aggs)",
        "funcs = ['min', 'max']\nresult = df['v'].agg(funcs)",
        "how = 'sum' if len(df) > 5 else 'mean'\nresult = df.agg(how)",
        "result = df.groupby('k').filter(lambda g: len(g) > 2)",
        "result = df.filter(['a', 'b'])",
        "cols = ['a', 'b']\nresult = df.filter(cols)",
        "result = df.filter(like='price')",
        "result = df.filter(items=selected)",
        "from sklearn.preprocessing import StandardScaler\nscaler = StandardScaler()\nX = scaler.fit_transform(df[['a']])\nresult = scaler.transform(df[['b']])",
        "from sklearn.decomposition import PCA\npca = PCA(2).fit(df)\nresult = pca.transform(df)",
        "from sklearn.pipeline import Pipeline\nfrom sklearn.preprocessing import StandardScaler\np = Pipeline([('s', StandardScaler())]).fit(df)\nresult = p.named_steps['s'].transform(df)",
        "from sklearn import preprocessing\nresult = preprocessing.MinMaxScaler().fit(df).transform(df)",
        "result = df.rolling(5, win_type='gaussian').mean(std=2)",
        "import seaborn.objects as so\nresult = so.Plot(df, x='a', y='b').add(so.Bar(), so.Agg('median'))",
        "import seaborn as sns\nresult = sns.barplot(data=df, x='a', y='b', estimator='median')",
        "import seaborn as sns\nresult = sns.barplot(data=df, x='a', y='b', estimator=np.mean)",
        "result = df.groupby('k')['v'].apply(list)",
        "result = df.apply(pd.to_numeric, errors='coerce')",
        "result = df['s'].apply(str.strip)",
    ]);
}

// ------------------------------------------------------ library settings by name

#[test]
fn settings_that_import_modules() {
    refused(
        "module-by-name",
        &[
            "import matplotlib as mpl\nmpl.use('module://os')\nresult = 1",
            "mpl_name = 'module://' + 'x'\nresult = 1",
            "import matplotlib as mpl\nmpl.use(name)\nresult = 1",
            "plt.switch_backend('agg')\nresult = 1",
            "plt.style.use('pkg.style')\nresult = 1",
            "plt.style.use('/tmp/x.mplstyle')\nresult = 1",
            "plt.style.use(['ggplot', name])\nresult = 1",
            "plt.style.use({'backend': 'x'})\nresult = 1",
            "with plt.style.context(name):\n    result = 1",
            "plt.rcParams['backend'] = 'x'\nresult = 1",
            "plt.rcParams['figure.hooks'] = ['a:b']\nresult = 1",
            "plt.rcParams['figure.' + 'hooks'] = ['a:b']\nresult = 1",
            "plt.rcParams[key] = v\nresult = 1",
            "from matplotlib import rcParams\nrcParams[key] = v\nresult = 1",
            "import matplotlib as mpl\nmpl.rcParams.update({k: v})\nresult = 1",
            "import matplotlib as mpl\nmpl.rcParams.update(settings)\nresult = 1",
            "with plt.rc_context({k: v}):\n    result = 1",
            "with plt.rc_context(fname='x.rc'):\n    result = 1",
            "import matplotlib as mpl\nmpl.rc('figure', hooks=['a:b'])\nresult = 1",
            "import matplotlib as mpl\nmpl.rc(group, x=1)\nresult = 1",
            "import seaborn as sns\nsns.set_theme(rc={k: v})\nresult = 1",
            "pd.set_option('plotting.backend', 'x')\nresult = 1",
            "pd.set_option('ackend', 'x')\nresult = 1",
            "pd.set_option('plot.*', 'x')\nresult = 1",
            "pd.set_option('ng.ba', 'x')\nresult = 1",
            "pd.set_option('display.max_rows', 5, 'back' + 'end', 'x')\nresult = 1",
            "pd.set_option(key, 'x')\nresult = 1",
            "with pd.option_context(key, 'x'):\n    result = 1",
            "pd.options.plotting.backend = 'x'\nresult = 1",
            "result = df.plot(x='a', backend='x')",
        ],
    );
    accepted(&[
        "plt.style.use('ggplot')\nresult = 1",
        "plt.style.use('seaborn-v0_8-darkgrid')\nresult = 1",
        "plt.style.use(['ggplot', 'dark_background'])\nresult = 1",
        "import matplotlib as mpl\nmpl.use('Agg')\nresult = 1",
        "with plt.style.context('fivethirtyeight'):\n    result = df.plot()",
        "plt.rcParams['figure.figsize'] = (10, 6)\nresult = 1",
        "plt.rcParams.update({'font.size': 12, 'axes.grid': True})\nresult = 1",
        "import matplotlib as mpl\nmpl.rc('font', size=12)\nresult = 1",
        "with plt.rc_context({'lines.linewidth': 2}):\n    result = df.plot()",
        "import seaborn as sns\nsns.set_theme(style='whitegrid', rc={'figure.figsize': (8, 4)})\nresult = 1",
        "pd.set_option('display.max_columns', None)\nresult = 1",
        "pd.set_option('display.float_format', '{:.2f}'.format)\nresult = 1",
        "with pd.option_context('display.max_rows', 10, 'display.width', 200):\n    result = str(df)",
        "pd.options.display.max_rows = 100\nresult = 1",
    ]);
}

#[test]
fn checked_functions_cannot_be_aliased() {
    refused(
        "string-dispatch",
        &[
            "f = df.agg\nresult = f(name, 'a')",
            "g = df.groupby('k').apply\nresult = g(name)",
            "import functools\nresult = functools.partial(df.agg, name)()",
            "result = list(map(df.transform, [name]))",
            "from pandas import pivot_table as pt\nresult = pt(df, 'v', 'a', 'b', name)",
            "import pandas as p2\nresult = p2.crosstab(df.a, df.b, df.v, None, None, name)",
            "n = pd.NamedAgg\nresult = 1",
        ],
    );
    refused(
        "module-by-name",
        &[
            "from pandas import set_option as so\nso(key, 1)\nresult = 1",
            "s = pd.set_option\nresult = 1",
            "r = plt.rcParams\nr[k] = v\nresult = 1",
            "dict.update(plt.rcParams, {k: v})\nresult = 1",
            "from matplotlib import rcParams\nd = rcParams\nresult = 1",
            "import matplotlib as mpl\nu = mpl.rcParams.update\nresult = 1",
            "from matplotlib import use as u\nu(name)\nresult = 1",
            "from matplotlib.pyplot import rc_context\nwith rc_context({k: v}):\n    result = 1",
        ],
    );
    refused(
        "formula",
        &[
            "from statsmodels.formula.api import ols\nf = ols\nresult = f(x, data=df)",
            "import statsmodels.formula.api as smf\nf = smf.ols\nresult = f(x, data=df)",
            "import statsmodels.api as sm\ns = sm.OLS.from_formula\nresult = s(x, df)",
        ],
    );
    accepted(&[
        "from sklearn.feature_selection import RFE\nfrom sklearn.linear_model import LinearRegression\nresult = RFE(estimator=LinearRegression(), n_features_to_select=2).fit(df[['a', 'b']], df['y']).support_",
        "from sklearn.model_selection import GridSearchCV\nfrom sklearn.ensemble import RandomForestRegressor\nrf = RandomForestRegressor()\ngs = GridSearchCV(estimator=rf, param_grid={'n_estimators': [10, 50]})\nresult = gs.fit(df[['a']], df['y']).best_params_",
        "fig, ax = plt.subplots()\nresult = ax.transData.transform((1, 2))",
        "fig, ax = plt.subplots()\nresult = ax.transAxes.inverted().transform(points)",
        "result = df.style.format_index(str.upper, axis=1)",
        "print(df['a'].agg(['min', 'max']))\nresult = 1",
        "result = plt.rcParams['figure.figsize']",
        "from matplotlib import rcParams\nrcParams['font.size'] = 12\nresult = 1",
        "import statsmodels.api as sm\nresult = sm.OLS.from_formula('y ~ x', data=df).fit().params",
    ]);
}

#[test]
fn template_engines() {
    refused(
        "reflection",
        &[
            "result = type(df.style.template_html)(t).render()",
            "result = df.style.env.from_string(t).render()",
            "result = df.style.template_html.environment",
            "result = df.style.from_custom_template('.', 'x.tpl')",
            "result = df.style.loader",
            "result = type(df.style).template_latex",
        ],
    );
    accepted(&[
        "result = df.style.highlight_max(axis=0).to_html()",
        "result = df.head().to_latex()",
    ]);
}

// ------------------------------------------------------------------- formulas

#[test]
fn formulas_are_literal_and_plain() {
    refused(
        "formula",
        &[
            "import statsmodels.formula.api as smf\nresult = smf.ols('y ~ I(eval(\"1\"))', data=df).fit()",
            "import statsmodels.formula.api as smf\nresult = smf.ols('y ~ I(getattr)', data=df)",
            "import statsmodels.formula.api as smf\nresult = smf.ols(\"y ~ I(Q('eval')('1'))\", data=df)",
            "import statsmodels.formula.api as smf\nresult = smf.ols('y ~ np.load(x)', data=df)",
            "import statsmodels.formula.api as smf\nresult = smf.logit(formula='y ~ {x}', data=df)",
            "from statsmodels.formula.api import ols\nresult = ols('y ~ x.real', data=df)",
            "from statsmodels.formula.api import ols as fit_ols\nresult = fit_ols('y ~ ' + '+'.join(df.columns), data=df)",
            "import statsmodels.formula.api as smf\nf = f'y ~ {x}'\nresult = smf.ols(f, data=df)",
            "import statsmodels.formula.api as smf\ncols = ' + '.join(df.columns)\nresult = smf.ols('y ~ ' + cols, data=df)",
            "import statsmodels.api as sm\nresult = sm.formula.ols(formula=g, data=df)",
            "import statsmodels.api as sm\nresult = sm.OLS.from_formula('y ~ I(exec)', df)",
            "import statsmodels.formula.api as smf\nresult = smf.mixedlm('y ~ x', df, groups=df['g'], re_formula=rf)",
            "import statsmodels.formula.api as smf\nresult = smf.ols('y ~ x', data=df, eval_env=2)",
            "import statsmodels.formula.api as smf\nresult = smf.ols('y ~ I((lambda: 1)())', data=df)",
        ],
    );
    accepted(&[
        "import statsmodels.formula.api as smf\nresult = smf.ols('y ~ x', data=df).fit().params",
        "import statsmodels.formula.api as smf\nresult = smf.ols('np.log(price) ~ C(region) + I(age ** 2) + x1:x2', data=df).fit().summary()",
        "import statsmodels.formula.api as smf\nformula = 'sales ~ price + C(store)'\nresult = smf.ols(formula, data=df).fit().rsquared",
        "import statsmodels.formula.api as smf\nresult = smf.logit('bought ~ age + income', data=df).fit(disp=0).params",
        "import statsmodels.api as sm\nresult = sm.OLS.from_formula(\"y ~ Q('odd col')\", df).fit().params",
        "import statsmodels.formula.api as smf\nresult = smf.mixedlm('y ~ x', df, groups=df['g'], re_formula='1 + x').fit().params",
        "from statsmodels.formula.api import ols\nfrom statsmodels.stats.anova import anova_lm\nresult = anova_lm(ols('v ~ C(g)', data=df).fit())",
    ]);
}

// ----------------------------------------------------------- legit model code

#[test]
fn real_model_snippets_are_accepted() {
    accepted(&[
        "result = df.groupby('region')['sales'].sum().sort_values(ascending=False)",
        "result = df.groupby(['region', 'year']).agg({'sales': 'sum', 'profit': 'mean'}).reset_index()",
        "result = df.groupby('category').agg(total=('amount', 'sum'), orders=('id', 'nunique'))",
        "result = df.pivot_table(index='month', columns='region', values='sales', aggfunc='sum', fill_value=0)",
        "result = df['price'].apply(lambda p: round(p * 1.2, 2))",
        "result = df.apply(lambda row: row['a'] + row['b'], axis=1)",
        "df['date'] = pd.to_datetime(df['date'])\nresult = df.set_index('date').resample('M')['sales'].sum()",
        "df['Date'] = pd.to_datetime(df['Date'])\ndf = df.sort_values('Date')\ndf['MA20'] = df['Close'].rolling(window=20).mean()\nresult = df[['Date', 'Close', 'MA20']].tail(10)",
        "result = df['Close'].pct_change().rolling(30).std() * np.sqrt(252)",
        "result = pd.merge(df, df.groupby('k')['v'].mean().rename('avg').reset_index(), on='k', how='left')",
        "result = df.merge(other, left_on='id', right_on='user_id')",
        "result = df.select_dtypes(include='number').corr()",
        "result = df.corr(numeric_only=True)['target'].sort_values()",
        "result = df.describe(include='all').T",
        "result = df['category'].value_counts(normalize=True).head(10)",
        "result = df.isnull().sum()",
        "result = df.dropna(subset=['a']).drop_duplicates().shape",
        "result = np.percentile(df['v'], [25, 50, 75])",
        "result = np.corrcoef(df['a'], df['b'])[0, 1]",
        "result = np.log1p(df['v']).mean()",
        "result = df.assign(ratio=lambda d: d['a'] / d['b']).nlargest(5, 'ratio')",
        "result = df.assign(**{'total': df['a'] + df['b']})",
        "from scipy import stats\nt, p = stats.ttest_ind(df['a'], df['b'], equal_var=False)\nresult = {'t': t, 'p': p}",
        "from scipy.stats import pearsonr, spearmanr\nresult = (pearsonr(df['x'], df['y']), spearmanr(df['x'], df['y']))",
        "import scipy.stats as st\nresult = st.chi2_contingency(pd.crosstab(df['a'], df['b']))[1]",
        "from scipy.stats import zscore\nresult = df[(np.abs(zscore(df['v'])) < 3)]",
        "from sklearn.linear_model import LinearRegression\nX = df[['x1', 'x2']]\ny = df['y']\nmodel = LinearRegression().fit(X, y)\nresult = {'coef': model.coef_.tolist(), 'r2': model.score(X, y)}",
        "from sklearn.model_selection import train_test_split\nfrom sklearn.ensemble import RandomForestRegressor\nX_train, X_test, y_train, y_test = train_test_split(df[['a', 'b']], df['y'], test_size=0.2, random_state=0)\nrf = RandomForestRegressor(n_estimators=50).fit(X_train, y_train)\nresult = rf.score(X_test, y_test)",
        "from sklearn.cluster import KMeans\nkm = KMeans(n_clusters=3, n_init=10).fit(df[['a', 'b']])\ndf['cluster'] = km.labels_\nresult = df.groupby('cluster').mean()",
        "from sklearn.preprocessing import StandardScaler\nfrom sklearn.pipeline import make_pipeline\nfrom sklearn.linear_model import LogisticRegression\npipe = make_pipeline(StandardScaler(), LogisticRegression())\npipe.fit(df[['a', 'b']], df['y'])\nresult = pipe.predict_proba(df[['a', 'b']])[:5]",
        "from sklearn.metrics import mean_squared_error, r2_score\nresult = (mean_squared_error(df['y'], df['p']), r2_score(df['y'], df['p']))",
        "from sklearn.inspection import permutation_importance\nresult = 1",
        "import statsmodels.api as sm\nX = sm.add_constant(df[['x']])\nresult = sm.OLS(df['y'], X).fit().summary().as_text()",
        "import statsmodels.formula.api as smf\nmodel = smf.ols('revenue ~ ad_spend + C(channel)', data=df).fit()\nresult = model.params",
        "from statsmodels.tsa.seasonal import seasonal_decompose\nresult = seasonal_decompose(df.set_index('date')['v'], period=12).trend",
        "from statsmodels.tsa.arima.model import ARIMA\nresult = ARIMA(df['v'], order=(1, 1, 1)).fit().forecast(5)",
        "import seaborn as sns\nimport matplotlib.pyplot as plt\nfig, ax = plt.subplots(figsize=(10, 6))\nsns.heatmap(df.corr(numeric_only=True), annot=True, fmt='.2f', cmap='coolwarm', ax=ax)\nax.set_title('Correlation')\nresult = fig",
        "fig, ax = plt.subplots()\ndf.plot(x='date', y='v', ax=ax, kind='line')\nax.yaxis.set_major_formatter(plt.FuncFormatter(lambda v, _: f'{v:,.0f}'))\nresult = fig",
        "import matplotlib.ticker as mticker\nfig, ax = plt.subplots()\nax.yaxis.set_major_formatter(mticker.StrMethodFormatter('{x:,.0f}'))\nresult = fig",
        "import matplotlib.dates as mdates\nfig, ax = plt.subplots()\nax.xaxis.set_major_formatter(mdates.DateFormatter('%Y-%m'))\nresult = fig",
        "result = df['date'].dt.to_period('M').value_counts().sort_index()",
        "result = df.groupby(pd.Grouper(key='date', freq='W'))['v'].sum()",
        "result = pd.cut(df['age'], bins=[0, 18, 65, 120], labels=['child', 'adult', 'senior']).value_counts()",
        "result = pd.qcut(df['v'], 4, labels=False)",
        "result = df.melt(id_vars=['id'], value_vars=['a', 'b'])",
        "result = df.explode('tags')['tags'].value_counts()",
        "result = df['name'].str.lower().str.contains('inc').sum()",
        "result = df.loc[df.groupby('k')['v'].idxmax()]",
        "result = df.sort_values(['a', 'b'], ascending=[True, False]).head(10)",
        "result = df.nunique()",
        "from collections import Counter\nimport re\nwords = Counter(w for t in df['text'] for w in re.findall(r'\\w+', t.lower()))\nresult = words.most_common(10)",
        "import math\nresult = math.sqrt(df['v'].var())",
        "result = df.rename(columns=str.lower)",
        "result = df.rename(columns={'a': 'alpha'})",
        "summary = {}\nfor col in ['a', 'b']:\n    summary[col] = df[col].mean()\nresult = pd.Series(summary)",
        "def classify(v):\n    return 'high' if v > 10 else 'low'\ndf['cls'] = df['v'].apply(classify)\nresult = df['cls'].value_counts()",
        "result = df.groupby('k').apply(lambda g: g['v'].sum() / g['w'].sum(), include_groups=False)",
        "import datetime as dt\nresult = df[df['date'] > dt.datetime(2020, 1, 1)]",
        "result = df[df['date'] > datetime.datetime(2020, 1, 1)]",
        "result = df.copy()",
        "result = pd.api.types.is_numeric_dtype(df['a'])",
        "result = df.to_numpy().astype(float).sum()",
    ]);
}

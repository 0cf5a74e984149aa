//! `repair`: replies shaped like real small-model output (Qwen2.5-Coder
//! 1.5B re-reads the data and wraps the work in `main()`), repaired exactly,
//! then accepted by the validator.

use code_guard::{assigns_result, repair, validate, Policy};

/// Repairs `code`, compares with `expected` and the notes, then validates.
#[track_caller]
fn check(code: &str, datasets: &[&str], expected: &str, notes: &[&str]) {
    let repaired = repair(code, datasets);
    assert_eq!(
        repaired.code, expected,
        "\n--- repaired:\n{}\n",
        repaired.code
    );
    assert_eq!(repaired.notes, notes);
    // Replies that print instead of assigning `result` are the kernel's call.
    let policy = Policy {
        require_result: false,
        ..Policy::default()
    };
    if let Err(r) = validate(&repaired.code, &policy) {
        panic!(
            "repaired code refused: [{}] {}\n{}",
            r.rule, r.message, repaired.code
        );
    }
}

const DF: &[&str] = &["YAHOO_BTC_USD_D"];

#[test]
fn top_level_reread_is_dropped() {
    check(
        "import pandas as pd\n\
         \n\
         # Load the data\n\
         df = pd.read_csv('YAHOO_BTC_USD_D.csv')\n\
         \n\
         # Average closing price\n\
         result = df['Close'].mean()\n\
         print(result)\n",
        DF,
        "import pandas as pd\n\
         \n\
         # Load the data\n\
         \n\
         # Average closing price\n\
         result = df['Close'].mean()\n\
         print(result)\n",
        &["Used the loaded data `df` instead of reading 'YAHOO_BTC_USD_D.csv' again."],
    );
}

#[test]
fn other_name_gets_a_copy() {
    check(
        "import pandas as pd\n\
         import numpy as np\n\
         \n\
         data = pd.read_csv(\"file.csv\")\n\
         data['Return'] = data['Close'].pct_change()\n\
         print(f\"@volatility[{data['Return'].std() * np.sqrt(365):.4f}]\")\n",
        DF,
        "import pandas as pd\n\
         import numpy as np\n\
         \n\
         data = df.copy()\n\
         data['Return'] = data['Close'].pct_change()\n\
         print(f\"@volatility[{data['Return'].std() * np.sqrt(365):.4f}]\")\n",
        &["Used the loaded data `df` instead of reading 'file.csv' again."],
    );
}

#[test]
fn excel_read() {
    check(
        "import pandas as pd\n\
         df = pd.read_excel('sales_data.xlsx', sheet_name='Sheet1')\n\
         result = df.groupby('Region')['Sales'].sum()\n",
        &["sales"],
        "import pandas as pd\n\
         result = df.groupby('Region')['Sales'].sum()\n",
        &[
            "Used the loaded data `df` instead of reading 'sales_data.xlsx' again.",
            "Ignored the read options sheet_name: the data is used as loaded.",
        ],
    );
}

#[test]
fn parse_dates_is_redone() {
    check(
        "import pandas as pd\n\
         \n\
         df = pd.read_csv('YAHOO_BTC_USD_D.csv', parse_dates=['Date'])\n\
         monthly = df.set_index('Date')['Close'].resample('M').mean()\n\
         result = monthly.tail(12)\n",
        DF,
        "import pandas as pd\n\
         \n\
         df['Date'] = pd.to_datetime(df['Date'])\n\
         monthly = df.set_index('Date')['Close'].resample('M').mean()\n\
         result = monthly.tail(12)\n",
        &[
            "Used the loaded data `df` instead of reading 'YAHOO_BTC_USD_D.csv' again.",
            "Applied the read options parse_dates to the loaded data.",
        ],
    );
}

#[test]
fn parse_dates_and_index_col_on_a_copy() {
    check(
        "import pandas as pd\n\
         prices = pd.read_csv(\"prices.csv\", index_col=\"Date\", parse_dates=[\"Date\"])\n\
         result = prices['Close'].rolling(30).mean().dropna()\n",
        DF,
        "import pandas as pd\n\
         prices = df.copy()\n\
         prices[\"Date\"] = pd.to_datetime(prices[\"Date\"])\n\
         prices = prices.set_index(\"Date\")\n\
         result = prices['Close'].rolling(30).mean().dropna()\n",
        &[
            "Used the loaded data `df` instead of reading 'prices.csv' again.",
            "Applied the read options index_col, parse_dates to the loaded data.",
        ],
    );
}

#[test]
fn loader_function() {
    check(
        "import pandas as pd\n\
         \n\
         def load_data(file_path):\n    \
             \"\"\"Load the dataset.\"\"\"\n    \
             return pd.read_csv(file_path)\n\
         \n\
         df = load_data('YAHOO_BTC_USD_D.csv')\n\
         result = df.describe()\n",
        DF,
        "import pandas as pd\n\
         \n\
         def load_data(file_path):\n    \
             \"\"\"Load the dataset.\"\"\"\n    \
             return df.copy()\n\
         \n\
         df = load_data('YAHOO_BTC_USD_D.csv')\n\
         result = df.describe()\n",
        &["Used the loaded data `df` instead of reading a file again."],
    );
}

#[test]
fn loader_with_options_returns_a_chain() {
    check(
        "import pandas as pd\n\
         def load(path):\n    \
             return pd.read_csv(path, parse_dates=['date'], index_col='date')\n\
         sales = load('sales.csv')\n\
         result = sales.resample('W').sum()\n",
        &["sales"],
        "import pandas as pd\n\
         def load(path):\n    \
             return df.copy().assign(**{'date': lambda d: pd.to_datetime(d['date'])}).set_index('date')\n\
         sales = load('sales.csv')\n\
         result = sales.resample('W').sum()\n",
        &[
            "Used the loaded data `df` instead of reading a file again.",
            "Applied the read options parse_dates, index_col to the loaded data.",
        ],
    );
}

#[test]
fn path_in_a_variable() {
    check(
        "import pandas as pd\n\
         \n\
         file_path = 'YAHOO_BTC_USD_D.csv'\n\
         df = pd.read_csv(file_path)\n\
         \n\
         max_close = df['Close'].max()\n\
         print(f\"@max_close[{max_close}]\")\n",
        DF,
        "import pandas as pd\n\
         \n\
         file_path = 'YAHOO_BTC_USD_D.csv'\n\
         \n\
         max_close = df['Close'].max()\n\
         print(f\"@max_close[{max_close}]\")\n",
        &["Used the loaded data `df` instead of reading 'YAHOO_BTC_USD_D.csv' again."],
    );
}

#[test]
fn main_function_and_guard() {
    check(
        "import pandas as pd\n\
         \n\
         def main():\n    \
             # Load the data\n    \
             df = pd.read_csv('YAHOO_BTC_USD_D.csv')\n    \
             df = df.dropna()\n    \
             avg = df['Volume'].mean()\n    \
             print(f\"Average volume: {avg:.2f}\")\n\
         \n\
         if __name__ == \"__main__\":\n    \
             main()\n",
        DF,
        "import pandas as pd\n\
         \n\
         def main():\n    \
             # Load the data\n    \
             global df\n    \
             df = df.dropna()\n    \
             avg = df['Volume'].mean()\n    \
             print(f\"Average volume: {avg:.2f}\")\n\
         \n\
         main()\n",
        &[
            "Ran the code under `if __name__ == \"__main__\":` directly.",
            "Used the loaded data `df` instead of reading 'YAHOO_BTC_USD_D.csv' again.",
        ],
    );
}

#[test]
fn guard_block_with_work_inside() {
    check(
        "import pandas as pd\n\
         \n\
         if '__main__' == __name__:\n    \
             data = pd.read_csv('YAHOO_BTC_USD_D.csv')\n    \
             # Daily returns\n    \
             returns = data['Close'].pct_change()\n    \
             if returns.std() > 0:\n        \
                 result = returns.mean() / returns.std()\n    \
             print(result)\n",
        DF,
        "import pandas as pd\n\
         \n\
         data = df.copy()\n\
         # Daily returns\n\
         returns = data['Close'].pct_change()\n\
         if returns.std() > 0:\n    \
             result = returns.mean() / returns.std()\n\
         print(result)\n",
        &[
            "Ran the code under `if __name__ == \"__main__\":` directly.",
            "Used the loaded data `df` instead of reading 'YAHOO_BTC_USD_D.csv' again.",
        ],
    );
}

#[test]
fn one_line_guard() {
    check(
        "def main():\n    \
             result = df['Close'].max()\n    \
             print(result)\n\
         if __name__ == '__main__': main()  # run\n",
        DF,
        "def main():\n    \
             result = df['Close'].max()\n    \
             print(result)\n\
         main()  # run\n",
        &["Ran the code under `if __name__ == \"__main__\":` directly."],
    );
}

#[test]
fn several_datasets_by_file_stem() {
    check(
        "import pandas as pd\n\
         \n\
         orders = pd.read_csv('orders.csv')\n\
         customers = pd.read_csv('data/Customers.csv')\n\
         cust = pd.read_csv('customers.csv')\n\
         merged = orders.merge(customers, on='customer_id')\n\
         result = merged.groupby('country')['amount'].sum()\n",
        &["orders", "customers"],
        "import pandas as pd\n\
         \n\
         orders = df.copy()\n\
         cust = customers.copy()\n\
         merged = orders.merge(customers, on='customer_id')\n\
         result = merged.groupby('country')['amount'].sum()\n",
        &[
            "Used the loaded data `df` instead of reading 'orders.csv' again.",
            "Used the loaded data `customers` instead of reading 'data/Customers.csv' again.",
            "Used the loaded data `customers` instead of reading 'customers.csv' again.",
        ],
    );
}

#[test]
fn read_alone_in_try_becomes_pass() {
    check(
        "import pandas as pd\n\
         \n\
         try:\n    \
             df = pd.read_csv('YAHOO_BTC_USD_D.csv')\n\
         except FileNotFoundError:\n    \
             print('File not found')\n\
         \n\
         result = df['High'].max() - df['Low'].min()\n",
        DF,
        "import pandas as pd\n\
         \n\
         try:\n    \
             pass\n\
         except FileNotFoundError:\n    \
             print('File not found')\n\
         \n\
         result = df['High'].max() - df['Low'].min()\n",
        &["Used the loaded data `df` instead of reading 'YAHOO_BTC_USD_D.csv' again."],
    );
}

#[test]
fn read_at_the_root_of_a_chain() {
    check(
        "import pandas as pd\n\
         df = pd.read_csv('YAHOO_BTC_USD_D.csv').dropna()  # clean rows\n\
         result = len(df)\n",
        DF,
        "import pandas as pd\n\
         df = df.copy().dropna()  # clean rows\n\
         result = len(df)\n",
        &["Used the loaded data `df` instead of reading 'YAHOO_BTC_USD_D.csv' again."],
    );
}

#[test]
fn any_pandas_alias() {
    check(
        "import pandas\n\
         import pandas as pds\n\
         a = pandas.read_table('a.tsv')\n\
         b = pds.read_json('b.json')\n\
         result = len(a) + len(b)\n",
        DF,
        "import pandas\n\
         import pandas as pds\n\
         a = df.copy()\n\
         b = df.copy()\n\
         result = len(a) + len(b)\n",
        &[
            "Used the loaded data `df` instead of reading 'a.tsv' again.",
            "Used the loaded data `df` instead of reading 'b.json' again.",
        ],
    );
}

#[test]
fn options_that_do_not_matter_are_noted() {
    check(
        "import pandas as pd\n\
         df = pd.read_csv('YAHOO_BTC_USD_D.csv', sep=',', encoding='utf-8', usecols=['Date', 'Close'])\n\
         result = df.tail()\n",
        DF,
        "import pandas as pd\n\
         df = df[['Date', 'Close']]\n\
         result = df.tail()\n",
        &[
            "Used the loaded data `df` instead of reading 'YAHOO_BTC_USD_D.csv' again.",
            "Applied the read options usecols to the loaded data.",
            "Ignored the read options sep, encoding: the data is used as loaded.",
        ],
    );
}

#[test]
fn semicolon_joined_read_becomes_pass() {
    check(
        "import pandas as pd; df = pd.read_csv('x.csv')\nresult = df.shape\n",
        DF,
        "import pandas as pd; pass\nresult = df.shape\n",
        &["Used the loaded data `df` instead of reading 'x.csv' again."],
    );
}

#[test]
fn dataframe_parameter_is_kept() {
    check(
        "import pandas as pd\n\
         def analyze(df):\n    \
             df = pd.read_csv('x.csv')\n    \
             return df['Close'].median()\n\
         result = analyze(df)\n",
        DF,
        "import pandas as pd\n\
         def analyze(df):\n    \
             pass\n    \
             return df['Close'].median()\n\
         result = analyze(df)\n",
        &["Used the loaded data `df` instead of reading 'x.csv' again."],
    );
}

#[test]
fn other_name_in_a_function_that_rebinds_df() {
    check(
        "import pandas as pd\n\
         def main():\n    \
             raw = pd.read_csv('x.csv')\n    \
             df = raw.dropna()\n    \
             print(df.shape)\n\
         main()\n",
        DF,
        "import pandas as pd\n\
         def main():\n    \
             global df\n    \
             raw = df.copy()\n    \
             df = raw.dropna()\n    \
             print(df.shape)\n\
         main()\n",
        &["Used the loaded data `df` instead of reading 'x.csv' again."],
    );
}

// ------------------------------------------------------------ left unchanged

#[track_caller]
fn unchanged(code: &str, datasets: &[&str]) {
    let repaired = repair(code, datasets);
    assert_eq!(repaired.code, code);
    assert!(repaired.notes.is_empty(), "{:?}", repaired.notes);
}

#[test]
fn not_plain_file_reads_are_left_alone() {
    unchanged(
        "import pandas as pd\ndf = pd.read_csv('https://evil.example/x.csv')\nresult = 1\n",
        DF,
    );
    unchanged(
        "import pandas as pd\nfrom io import StringIO\ndf = pd.read_csv(StringIO(text))\nresult = 1\n",
        DF,
    );
    unchanged(
        "import pandas as pd\ndf = pd.read_json('[{\"a\": 1}]')\nresult = 1\n",
        DF,
    );
    unchanged(
        "import pandas as pd\ndf = pd.read_csv(base + '/x.csv')\nresult = 1\n",
        DF,
    );
    unchanged(
        "import pandas as pd\nfor chunk in pd.read_csv('x.csv', chunksize=10):\n    pass\n",
        DF,
    );
    unchanged(
        "import pandas as pd\nreader = pd.read_csv('x.csv', chunksize=10)\nresult = 1\n",
        DF,
    );
    unchanged("import pandas as pd\nresult = pd.read_html('x.html')\n", DF);
    unchanged(
        "import pandas as pd\nprint(pd.read_csv('x.csv').head())\n",
        DF,
    );
    unchanged("pd = 3\ndf = pd.read_csv('x.csv')\nresult = 1\n", DF);
    unchanged(
        "import pandas as pd\nu = 'http://x/y.csv'\ndf = pd.read_csv(u)\n",
        DF,
    );
    // A dataset named like a keyword is not bound: `df` is used.
    let repaired = repair("x = pd.read_csv('class.csv')\n", &["sales", "class"]);
    assert_eq!(repaired.code, "x = df.copy()\n");
    // Nothing loaded: there is no df to use.
    unchanged("import pandas as pd\ndf = pd.read_csv('x.csv')\n", &[]);
    // Does not parse: returned as is.
    unchanged("df = pd.read_csv('x.csv'\n", DF);
    // Guards with an else branch, or not at top level.
    unchanged(
        "if __name__ == '__main__':\n    result = 1\nelse:\n    result = 2\n",
        DF,
    );
    unchanged(
        "def f():\n    if __name__ == '__main__':\n        return 1\nresult = f()\n",
        DF,
    );
}

#[test]
fn dangerous_code_stays_dangerous() {
    let code = "import pandas as pd\n\
                df = pd.read_csv('x.csv')\n\
                import os\n\
                result = os.listdir('/')\n";
    let repaired = repair(code, DF);
    assert_eq!(
        repaired.code,
        "import pandas as pd\nimport os\nresult = os.listdir('/')\n"
    );
    assert_eq!(
        validate(&repaired.code, &Policy::default())
            .unwrap_err()
            .rule,
        "import"
    );
}

#[test]
fn result_binding_where_the_kernel_reads_it() {
    assert!(assigns_result("result = df.sum()"));
    assert!(assigns_result("if True:\n    result = 1"));
    assert!(assigns_result("for result in range(3):\n    pass"));
    assert!(assigns_result("a, (result, b) = 1, (2, 3)"));
    assert!(assigns_result(
        "def main():\n    global result\n    result = 1\nmain()"
    ));
    assert!(!assigns_result("def main():\n    result = 1\nmain()"));
    assert!(!assigns_result("print(df.sum())"));
    assert!(!assigns_result("result ="));
}

#[test]
fn reads_of_files_that_are_not_data_stay_refused() {
    // Only a data-file name is the "re-read the data" habit; hidden entries, `..` and files
    // that are not data are file reads, left for the validator to refuse.
    for code in [
        "df = pd.read_csv('sub/.env', header=None, sep='=')\nresult = df",
        "df = pd.read_csv('/home/u/.ssh/config')\nresult = df",
        "df = pd.read_csv('../secrets/../data.csv')\nresult = df",
        "df = pd.read_csv('/etc/passwd', sep=':')\nresult = df",
    ] {
        let repaired = repair(code, DF);
        assert_eq!(repaired.code, code, "repaired a file read: {code}");
        assert!(repaired.notes.is_empty());
        let refused = validate(code, &Policy::default()).expect_err(code);
        assert_eq!(refused.rule, "file-io", "{code}");
    }
}

#[test]
fn a_copy_of_the_sample_rows_gives_way_to_the_loaded_data() {
    // Recorded from Qwen2.5-Coder-1.5B (tests/fixtures/real_replies/spaced-header.json).
    let code = "import pandas as pd\n\n# Load the DataFrame\ndf = pd.DataFrame({\n    'DATE TIME': ['2026-11-01 00:00', '2026-11-01 03:00'],\n    'BARO': [1020.1, 1002.8]\n})\n\nresult = round(df['BARO'].mean(), 1)\n";
    check(
        code,
        &["weather"],
        "import pandas as pd\n\n# Load the DataFrame\n\nresult = round(df['BARO'].mean(), 1)\n",
        &["Used the loaded data `df`, not a copy of its sample rows typed into the code."],
    );
    // A frame built from computed values is the model's own work, not a copy.
    let own = "summary = pd.DataFrame({'a': [1, 2]})\ndf2 = pd.DataFrame({'m': [df['x'].mean()]})\nresult = df2\n";
    assert_eq!(repair(own, &["weather"]).code, own);
}

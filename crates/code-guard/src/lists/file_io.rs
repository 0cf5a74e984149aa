//! Files and the network: serialization modules, I/O methods, writers that take a path.

/// Serialization modules: they read/write files and unpickling runs code.
const SERIALIZATION_MODULES: &[&str] = &[
    "pickle",
    "shelve",
    "marshal",
    "dill",
    "joblib",
    "cloudpickle",
];

/// Attributes that always read or write files or the network.
const FILE_IO_METHODS: &[&str] = &[
    "to_parquet",
    "to_feather",
    "to_hdf",
    "to_sql",
    "to_excel",
    "to_stata",
    "to_orc",
    "to_clipboard",
    "to_gbq",
    "to_netcdf",
    "savefig",
    "imsave",
    "imread",
    "save",
    "savez",
    "savez_compressed",
    "savetxt",
    "load",
    "loadtxt",
    "genfromtxt",
    "fromfile",
    "fromregex",
    "tofile",
    "memmap",
    "DataSource",
    "ExcelWriter",
    "ExcelFile",
    "HDFStore",
    "load_dataset",
    "get_rdataset",
    "webuse",
    "load_svmlight_file",
    "load_svmlight_files",
    "dump_svmlight_file",
    "load_files",
    "save_npz",
    "load_npz",
    "dump",
    "export_graphviz",
    "clear_data_home",
    "get_dataset_names",
    "get_data_home",
    "get_sample_data",
    "get_data_path",
    "get_cachedir",
    "get_configdir",
    "matplotlib_fname",
    "rc_file",
    "rc_params_from_file",
    "to_filehandle",
    "open_file_cm",
    "get_handle",
    "urlopen",
    "urlretrieve",
    "check_internet",
    "dogplot",
    "webdoc",
    "x13_arima_analysis",
    "x13_arima_select_order",
    "run_spec",
    "write_text",
    "write_bytes",
    "touch",
    "unlink",
    "mkdir",
    "rmdir",
    "iterdir",
    "Path",
    "PosixPath",
    "PurePath",
];

/// Name prefixes of reader/downloader families (`read_csv`, `fetch_openml`).
/// `print_` covers matplotlib's canvas writers (`print_png`, `print_figure`).
const FILE_IO_PREFIXES: &[&str] = &["read_", "fetch_", "print_"];

/// Writers that return a string when called without a destination and write
/// a file when given one; allowed only as direct calls without a path.
const CONDITIONAL_WRITERS: &[&str] = &[
    "to_csv",
    "to_json",
    "to_html",
    "to_string",
    "to_markdown",
    "to_latex",
    "to_xml",
];

/// Keyword arguments that name a writer's destination.
const PATH_KEYWORDS: &[&str] = &[
    "path_or_buf",
    "path_or_buffer",
    "buf",
    "path",
    "excel_writer",
    "fname",
    "filename",
    "file",
];

pub fn is_serialization_module(name: &str) -> bool {
    SERIALIZATION_MODULES.contains(&name)
}

/// Attribute names that always perform file or network I/O.
pub fn is_file_io_method(name: &str) -> bool {
    FILE_IO_METHODS.contains(&name)
        || FILE_IO_PREFIXES.iter().any(|p| name.starts_with(p))
        // Catches to_pickle, read_pickle, load_pickle, save_pickle, ...
        || name.contains("pickle")
}

pub fn is_conditional_writer(name: &str) -> bool {
    CONDITIONAL_WRITERS.contains(&name)
}

pub fn is_path_keyword(name: &str) -> bool {
    PATH_KEYWORDS.contains(&name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_io_names() {
        assert!(is_file_io_method("read_csv"));
        assert!(is_file_io_method("to_pickle"));
        assert!(is_file_io_method("fetch_openml"));
        assert!(!is_file_io_method("to_dict"));
        assert!(!is_file_io_method("loads"));
    }
}

//! Errors of the bindings and their Python exception types: `ValueError` for
//! bad arguments and frames, `RuntimeError` for encoding and I/O failures.

use pyo3::exceptions::{PyRuntimeError, PyValueError};
use pyo3::PyErr;

/// What went wrong, sorted by the Python exception it becomes.
#[derive(Debug)]
pub enum BindError {
    /// A bad argument or bad frames: `ValueError`.
    Value(String),
    /// Encoding, I/O, or a call in the wrong order: `RuntimeError`.
    Runtime(String),
    /// An error raised by Python code we called (a file-like's `write`, a
    /// tensor's `__dlpack__`), passed through unchanged.
    Python(PyErr),
}

pub type BindResult<T> = Result<T, BindError>;

impl BindError {
    pub fn value(message: impl Into<String>) -> BindError {
        BindError::Value(message.into())
    }

    pub fn runtime(message: impl Into<String>) -> BindError {
        BindError::Runtime(message.into())
    }

    /// A container failure, with the Python exception that caused it (a
    /// failing file-like `write`) attached as `__cause__` when there is one.
    pub fn from_container(error: container::Error, cause: Option<PyErr>) -> BindError {
        BindError::with_cause(error.to_string(), cause)
    }

    /// A `RuntimeError` whose `__cause__` is `cause`, when there is one.
    pub fn with_cause(message: String, cause: Option<PyErr>) -> BindError {
        match cause {
            Some(cause) => {
                let err = PyRuntimeError::new_err(message);
                pyo3::Python::attach(|py| err.set_cause(py, Some(cause)));
                BindError::Python(err)
            }
            None => BindError::Runtime(message),
        }
    }
}

impl From<framepress::Error> for BindError {
    /// The library's messages already say what was expected and what came;
    /// option, size and frame errors are the caller's, the rest are failures.
    fn from(error: framepress::Error) -> BindError {
        match error {
            framepress::Error::InvalidOption { .. }
            | framepress::Error::InvalidDimension { .. }
            | framepress::Error::InvalidInput(_)
            | framepress::Error::FrameSize { .. } => BindError::Value(error.to_string()),
            other => BindError::Runtime(other.to_string()),
        }
    }
}

impl From<container::Error> for BindError {
    fn from(error: container::Error) -> BindError {
        BindError::Runtime(error.to_string())
    }
}

impl From<PyErr> for BindError {
    fn from(error: PyErr) -> BindError {
        BindError::Python(error)
    }
}

impl From<BindError> for PyErr {
    fn from(error: BindError) -> PyErr {
        match error {
            BindError::Value(message) => PyValueError::new_err(message),
            BindError::Runtime(message) => PyRuntimeError::new_err(message),
            BindError::Python(err) => err,
        }
    }
}

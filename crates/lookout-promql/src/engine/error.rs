//! Query errors, classified like Prometheus' API `errorType`s so the HTTP
//! layer can map them to status codes.

/// Why a query failed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum QueryError {
    /// The query text or its parameters are invalid (`bad_data`).
    #[error("{0}")]
    BadData(String),
    /// Evaluation failed (`execution`), e.g. many-to-many matching.
    #[error("{0}")]
    Execution(String),
    /// The query ran past its deadline (`timeout`).
    #[error("query timed out in {0}")]
    Timeout(String),
    /// The caller cancelled the query (`canceled`).
    #[error("query was canceled in {0}")]
    Canceled(String),
    /// The sample limit was hit (`execution`).
    #[error("query processing would load too many samples into memory in {0}")]
    TooManySamples(String),
    /// The store failed underneath (`internal`).
    #[error("{0}")]
    Storage(String),
}

impl QueryError {
    /// Prometheus' API `errorType` for this error.
    pub fn error_type(&self) -> &'static str {
        match self {
            QueryError::BadData(_) => "bad_data",
            QueryError::Execution(_) | QueryError::TooManySamples(_) => "execution",
            QueryError::Timeout(_) => "timeout",
            QueryError::Canceled(_) => "canceled",
            QueryError::Storage(_) => "internal",
        }
    }

    pub(crate) fn exec(msg: impl Into<String>) -> Self {
        QueryError::Execution(msg.into())
    }
}

impl From<lookout_model::storage::StorageError> for QueryError {
    fn from(e: lookout_model::storage::StorageError) -> Self {
        match e {
            lookout_model::storage::StorageError::Cancelled => {
                QueryError::Canceled("query execution".into())
            }
            other => QueryError::Storage(other.to_string()),
        }
    }
}

/// Result alias for the engine.
pub type Result<T, E = QueryError> = std::result::Result<T, E>;

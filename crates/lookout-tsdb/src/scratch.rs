//! A throw-away store for conformance runs (`lookout promql test`, the
//! PromQL corpus test): the real engine in a temporary directory that is
//! removed when the store is dropped.

use lookout_model::storage::{Appendable, Appender, Querier, SelectHints, SeriesSet, StorageError};
use lookout_model::Matcher;

use crate::{Db, Options};

/// A [`Db`] with test options in its own temporary directory.
pub struct ScratchDb {
    db: Db,
    // Dropped after `db` (field order), so the store closes first.
    _dir: tempfile::TempDir,
}

impl ScratchDb {
    /// Opens an empty store in a new temporary directory.
    pub fn new() -> Result<Self, String> {
        let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
        let db = Db::open(dir.path(), Options::for_tests()).map_err(|e| e.to_string())?;
        Ok(ScratchDb { db, _dir: dir })
    }
}

impl Querier for ScratchDb {
    fn select(&self, m: &[Matcher], h: &SelectHints) -> Result<SeriesSet, StorageError> {
        self.db.select(m, h)
    }
    fn label_names(
        &self,
        m: &[Matcher],
        mint: i64,
        maxt: i64,
    ) -> Result<Vec<String>, StorageError> {
        self.db.label_names(m, mint, maxt)
    }
    fn label_values(
        &self,
        name: &str,
        m: &[Matcher],
        mint: i64,
        maxt: i64,
    ) -> Result<Vec<String>, StorageError> {
        self.db.label_values(name, m, mint, maxt)
    }
}

impl Appendable for ScratchDb {
    fn appender(&self) -> Box<dyn Appender + '_> {
        self.db.appender()
    }
}

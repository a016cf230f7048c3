//! Operator accounts in the SQLite ledger file.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use rusqlite::{params, Connection, OpenFlags, OptionalExtension};

use super::{Account, AccountError, Accounts, OperatorName};

/// The accounts table of an SQLite ledger, over one connection of its own (operator
/// requests are few; appends keep the ledger's writer to themselves).
#[derive(Debug)]
pub(super) struct SqliteAccounts {
    path: PathBuf,
    conn: Arc<Mutex<Option<Connection>>>,
}

impl SqliteAccounts {
    pub(super) fn open(path: &Path) -> Result<Self, AccountError> {
        let accounts = Self {
            path: path.to_owned(),
            conn: Arc::default(),
        };
        // Open now, so a wrong path fails at start rather than at the first request.
        let conn = connect(path)?;
        *accounts.conn.lock().unwrap_or_else(|p| p.into_inner()) = Some(conn);
        Ok(accounts)
    }

    /// Runs `f` on the connection in the blocking pool; a connection that failed is
    /// opened again next time.
    async fn with<T, F>(&self, f: F) -> Result<T, AccountError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, AccountError> + Send + 'static,
    {
        let slot = self.conn.clone();
        let path = self.path.clone();
        tokio::task::spawn_blocking(move || {
            let mut slot = slot.lock().unwrap_or_else(|p| p.into_inner());
            let conn = match slot.take() {
                Some(conn) => conn,
                None => connect(&path)?,
            };
            let out = f(&conn);
            if out.is_ok() {
                *slot = Some(conn);
            }
            out
        })
        .await
        .map_err(|e| AccountError::Storage(format!("the accounts task failed: {e}")))?
    }
}

fn connect(path: &Path) -> Result<Connection, AccountError> {
    let open_err = |e: rusqlite::Error| AccountError::Open {
        location: path.display().to_string(),
        reason: e.to_string(),
    };
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(open_err)?;
    conn.execute_batch("PRAGMA busy_timeout=10000;")
        .map_err(open_err)?;
    Ok(conn)
}

#[async_trait]
impl Accounts for SqliteAccounts {
    async fn add(
        &self,
        name: &OperatorName,
        token_hash: [u8; 32],
        now_ms: i64,
    ) -> Result<(), AccountError> {
        let name = name.as_str().to_owned();
        self.with(move |conn| {
            let inserted = conn.execute(
                "INSERT INTO operators (name, token_hash, created_at) VALUES (?1, ?2, ?3) ON CONFLICT (name) DO NOTHING",
                params![name, &token_hash[..], now_ms],
            )?;
            if inserted == 0 {
                return Err(AccountError::Exists(name));
            }
            Ok(())
        })
        .await
    }

    async fn list(&self) -> Result<Vec<Account>, AccountError> {
        self.with(|conn| {
            let mut stmt = conn.prepare(
                "SELECT name, created_at, revoked_at FROM operators ORDER BY created_at, name",
            )?;
            let rows = stmt.query_map([], |r| {
                Ok(Account {
                    name: r.get(0)?,
                    created_at: r.get(1)?,
                    revoked_at: r.get(2)?,
                })
            })?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
        .await
    }

    async fn revoke(&self, name: &str, now_ms: i64) -> Result<bool, AccountError> {
        let name = name.to_owned();
        self.with(move |conn| {
            let revoked_at: Option<Option<i64>> = conn
                .query_row(
                    "SELECT revoked_at FROM operators WHERE name = ?1",
                    [&name],
                    |r| r.get(0),
                )
                .optional()?;
            match revoked_at {
                None => Err(AccountError::NotFound(name)),
                Some(Some(_)) => Ok(false),
                Some(None) => {
                    conn.execute(
                        "UPDATE operators SET revoked_at = ?2 WHERE name = ?1",
                        params![name, now_ms],
                    )?;
                    Ok(true)
                }
            }
        })
        .await
    }

    async fn authenticate(&self, token_hash: &[u8; 32]) -> Result<Option<String>, AccountError> {
        let hash = *token_hash;
        self.with(move |conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT name FROM operators WHERE token_hash = ?1 AND revoked_at IS NULL",
            )?;
            Ok(stmt.query_row([&hash[..]], |r| r.get(0)).optional()?)
        })
        .await
    }
}

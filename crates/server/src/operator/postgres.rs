//! Operator accounts in the PostgreSQL ledger database.

use async_trait::async_trait;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};

use super::{Account, AccountError, Accounts, OperatorName};

/// The accounts table, over a small pool of its own.
#[derive(Debug)]
pub(super) struct PostgresAccounts {
    pool: PgPool,
}

impl PostgresAccounts {
    pub(super) async fn open(url: &str) -> Result<Self, AccountError> {
        let location = crate::ledger::redact_url(url);
        let options: PgConnectOptions =
            url.parse().map_err(|e: sqlx::Error| AccountError::Open {
                location: location.clone(),
                reason: e.to_string(),
            })?;
        let pool = PgPoolOptions::new()
            .max_connections(2)
            .acquire_timeout(std::time::Duration::from_secs(10))
            .connect_with(options)
            .await
            .map_err(|e| AccountError::Open {
                location,
                reason: e.to_string(),
            })?;
        Ok(Self { pool })
    }
}

#[async_trait]
impl Accounts for PostgresAccounts {
    async fn add(
        &self,
        name: &OperatorName,
        token_hash: [u8; 32],
        now_ms: i64,
    ) -> Result<(), AccountError> {
        let inserted = sqlx::query(
            "INSERT INTO operators (name, token_hash, created_at) VALUES ($1, $2, $3) ON CONFLICT (name) DO NOTHING",
        )
        .bind(name.as_str())
        .bind(&token_hash[..])
        .bind(now_ms)
        .execute(&self.pool)
        .await?
        .rows_affected();
        if inserted == 0 {
            return Err(AccountError::Exists(name.as_str().to_owned()));
        }
        Ok(())
    }

    async fn list(&self) -> Result<Vec<Account>, AccountError> {
        let rows: Vec<(String, i64, Option<i64>)> = sqlx::query_as(
            "SELECT name, created_at, revoked_at FROM operators ORDER BY created_at, name",
        )
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(name, created_at, revoked_at)| Account {
                name,
                created_at,
                revoked_at,
            })
            .collect())
    }

    async fn revoke(&self, name: &str, now_ms: i64) -> Result<bool, AccountError> {
        let row: Option<(Option<i64>,)> =
            sqlx::query_as("SELECT revoked_at FROM operators WHERE name = $1")
                .bind(name)
                .fetch_optional(&self.pool)
                .await?;
        match row {
            None => Err(AccountError::NotFound(name.to_owned())),
            Some((Some(_),)) => Ok(false),
            Some((None,)) => {
                sqlx::query(
                    "UPDATE operators SET revoked_at = $2 WHERE name = $1 AND revoked_at IS NULL",
                )
                .bind(name)
                .bind(now_ms)
                .execute(&self.pool)
                .await?;
                Ok(true)
            }
        }
    }

    async fn authenticate(&self, token_hash: &[u8; 32]) -> Result<Option<String>, AccountError> {
        Ok(sqlx::query_scalar(
            "SELECT name FROM operators WHERE token_hash = $1 AND revoked_at IS NULL",
        )
        .bind(&token_hash[..])
        .fetch_optional(&self.pool)
        .await?)
    }
}

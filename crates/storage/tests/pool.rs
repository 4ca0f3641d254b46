//! The connection pool: a connection is pinged at checkout only when it has not answered for a
//! second, and one the server dropped is still found and replaced.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers fail loudly by design

use ac_storage::testing::TestDatabase;
use ac_storage::{Backend, Database, DbConnection, OpenMode, PoolOptions};
use diesel::RunQueryDsl;
use std::time::Duration;

fn backend_pid(conn: &mut DbConnection) -> i32 {
    #[derive(diesel::QueryableByName)]
    struct Pid {
        #[diesel(sql_type = diesel::sql_types::Integer)]
        pid: i32,
    }
    diesel::sql_query("SELECT pg_backend_pid() AS pid")
        .get_result::<Pid>(conn)
        .unwrap()
        .pid
}

#[test]
fn a_connection_the_server_dropped_is_replaced_once_its_trust_interval_is_over() {
    for db in TestDatabase::each().expect("test database") {
        if db.backend() != Backend::Postgres {
            continue; // an in-process SQLite connection cannot be dropped by a server
        }
        // A pool of one, so that every checkout is the same connection until it is replaced.
        let options = PoolOptions {
            max_connections: 1,
            ..PoolOptions::default()
        };
        let pool = Database::open(&db.url, OpenMode::MustExist, &options).unwrap();
        let first = backend_pid(&mut pool.conn().unwrap());
        assert_eq!(backend_pid(&mut pool.conn().unwrap()), first, "reused");

        db.execute_raw(&format!("SELECT pg_terminate_backend({first})"))
            .unwrap();
        std::thread::sleep(Duration::from_millis(1_200));
        let replaced = backend_pid(&mut pool.conn().unwrap());
        assert_ne!(
            replaced, first,
            "the dropped connection was handed out again"
        );
    }
}

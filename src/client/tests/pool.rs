//! The pool: one connection per address, shared connects, reconnect after a failure.

use std::rc::Rc;
use std::time::Duration;

use super::{command, run, start_server, ECHO, LONG};
use crate::client::{ClientError, ClientOptions, Pool};

#[test]
fn reuses_the_connection_and_reconnects_after_a_failure() {
    run(|| async {
        let server = start_server();
        let pool = Pool::new(ClientOptions::default());
        let first = pool.get(server.addr).await.expect("connect");
        let again = pool.get(server.addr).await.expect("reuse");
        assert!(Rc::ptr_eq(&first, &again));

        first.close();
        let response = pool.request(server.addr, command(ECHO, b"x"), LONG).await;
        assert_eq!(response.expect("response").body, &b"x"[..]);
        let second = pool.get(server.addr).await.expect("reconnect");
        assert!(!Rc::ptr_eq(&first, &second));
        assert_eq!(pool.len(), 1);
    });
}

#[test]
fn concurrent_callers_share_one_connect() {
    run(|| async {
        let server = start_server();
        let pool = Rc::new(Pool::new(ClientOptions::default()));
        let callers: Vec<_> = (0..8)
            .map(|_| {
                let pool = pool.clone();
                glommio::spawn_local(async move { pool.get(server.addr).await.expect("connect") })
            })
            .collect();
        let mut connections = Vec::new();
        for caller in callers {
            connections.push(caller.await);
        }
        assert!(connections.iter().all(|c| Rc::ptr_eq(c, &connections[0])));
    });
}

#[test]
fn connect_failure_is_typed_and_the_next_use_tries_again() {
    run(|| async {
        let addr = {
            let listener = glommio::net::TcpListener::bind("127.0.0.1:0").expect("bind");
            listener.local_addr().expect("local addr")
        };
        let options = ClientOptions {
            connect_timeout: Duration::from_millis(500),
            ..ClientOptions::default()
        };
        let pool = Pool::new(options);
        for _ in 0..2 {
            match pool.get(addr).await {
                Err(ClientError::Connect {
                    addr: failed,
                    source,
                }) => {
                    assert_eq!(failed, addr);
                    assert_eq!(source.kind(), std::io::ErrorKind::ConnectionRefused);
                }
                other => panic!("{other:?}"),
            }
        }
    });
}

#[test]
fn removing_an_address_mid_connect_releases_its_waiters() {
    run(|| async {
        let server = start_server();
        let pool = Rc::new(Pool::new(ClientOptions::default()));
        let waiter = glommio::spawn_local({
            let pool = pool.clone();
            async move { pool.get(server.addr).await }
        });
        // Let the waiter start the connect, then remove the address before it completes.
        glommio::executor().yield_task_queue_now().await;
        pool.remove(server.addr);
        match waiter.await {
            Err(ClientError::Connect { source, .. }) => {
                assert_eq!(source.kind(), std::io::ErrorKind::Interrupted)
            }
            // The connect may have won the race; then the removed connection is closed.
            Ok(connection) => assert!(connection.is_closed()),
            Err(other) => panic!("{other:?}"),
        }
        assert!(pool.is_empty());
        pool.get(server.addr).await.expect("connect again");
    });
}

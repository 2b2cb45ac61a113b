pub mod heartbeat_body;

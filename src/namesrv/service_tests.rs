use super::*;

#[test]
fn unknown_codes_are_not_supported() {
    let server = NameServer::new();
    let request =
        RemotingCommand::request(request_code::SEND_MESSAGE, Default::default(), Bytes::new());
    let response = server.handle(1, &request, 0);
    assert_eq!(response.code, response_code::REQUEST_CODE_NOT_SUPPORTED);
}

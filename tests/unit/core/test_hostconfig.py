from shared.core.hostconfig import load_host_config, parse_timespan
from shared.localhost.functions import decode_message, discover, encode_message
from tests.helpers import PROJECT_ROOT


def test_timespans():
    assert parse_timespan("00:00:10", 0) == 10
    assert parse_timespan("01:02:03.5", 0) == 3723.5
    assert parse_timespan("1.00:00:00", 0) == 86400
    assert parse_timespan(None, 7) == 7


def test_project_host_json_is_read_with_its_settings():
    config = load_host_config(PROJECT_ROOT / "host.json")
    assert config.queues.max_dequeue_count == 5
    assert config.queues.message_encoding == "base64"
    assert config.queues.visibility_timeout_s == 5
    assert config.blobs.poison_blob_threshold == 5


def test_every_function_folder_binds_main_parameters_by_name():
    specs = {s.name: s for s in discover(PROJECT_ROOT)}
    assert set(specs) == {"enroll_trigger", "identify_trigger", "watchlist_trigger", "match_worker", "blob_poison",
                          "retention_timer", "http_api", "http_health"}
    assert specs["http_api"].trigger["authLevel"] == "function" and specs["http_api"].outputs == ()
    assert specs["http_health"].trigger["authLevel"] == "anonymous"
    assert specs["retention_timer"].trigger["schedule"] == "0 */10 * * * *"
    assert specs["blob_poison"].trigger["queueName"] == "webjobs-blobtrigger-poison"
    assert specs["enroll_trigger"].trigger["path"] == "enroll/{name}"
    assert specs["identify_trigger"].outputs[0]["queueName"] == "match-jobs"
    assert specs["match_worker"].trigger["queueName"] == "match-jobs"


def test_message_encoding_round_trips():
    text = '{"speaker": "Zoë"}'
    assert decode_message(encode_message(text, "base64"), "base64").decode() == text
    assert decode_message(encode_message(text, "none"), "none").decode() == text

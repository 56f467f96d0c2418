"""Chat models: the official openai client against a real drumnb server on 127.0.0.1."""
from __future__ import annotations

import json

import pandas as pd
import pytest
import requests

import drumnb
from drumnb.server.background import serve
from fixtures import write_folder

openai = pytest.importorskip("openai")

CHAT = """
import time
import pandas as pd
from openai.types.chat import ChatCompletion, ChatCompletionChunk

def load_model(code_dir):
    return "echo-llm"

def _text(params):
    last = params["messages"][-1]["content"]
    if last == "fail":
        raise RuntimeError("the model refused")
    return "echo: " + last

def chat(completion_create_params, model):
    text = _text(completion_create_params)
    if completion_create_params.get("stream"):
        def chunks():
            for i, word in enumerate(text.split(" ")):
                yield ChatCompletionChunk(id="c1", object="chat.completion.chunk", created=int(time.time()),
                                          model=model, choices=[{"index": 0, "finish_reason": None,
                                          "delta": {"role": "assistant", "content": (" " if i else "") + word}}])
        return chunks()
    return ChatCompletion(id="c1", object="chat.completion", created=int(time.time()), model=model,
                          choices=[{"index": 0, "finish_reason": "stop",
                                    "message": {"role": "assistant", "content": text}}])

def score(data, model, **kwargs):
    return pd.DataFrame({"Predictions": ["echo: " + p for p in data["promptText"]]})
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    folder = write_folder(tmp_path_factory.mktemp("chat"), "chat", CHAT,
                          files={"model-metadata.yaml": "name: echo\ntargetType: textgeneration\n"})
    with serve(str(folder), "textgeneration") as srv:
        yield srv


def client(server):
    return openai.OpenAI(base_url=server.url + "/v1", api_key="not-needed", max_retries=0)


def test_completion_stream_and_error_with_the_openai_client(server):
    c = client(server)
    done = c.chat.completions.create(model="echo", messages=[{"role": "user", "content": "hello there"}])
    assert done.choices[0].message.content == "echo: hello there"
    stream = c.chat.completions.create(model="echo", messages=[{"role": "user", "content": "a b c"}], stream=True)
    assert "".join(ch.choices[0].delta.content for ch in stream) == "echo: a b c"
    with pytest.raises(openai.InternalServerError) as info:
        c.chat.completions.create(model="echo", messages=[{"role": "user", "content": "fail"}])
    assert "the model refused" in info.value.body["message"]
    with pytest.raises(openai.BadRequestError) as info:  # a bad body: 400, as DRUM answers
        c.chat.completions.create(model="echo", messages="not a list")
    assert "messages" in info.value.body["message"]


def test_routes_models_capabilities_and_score(server):
    assert requests.get(server.url + "/capabilities/").json()["supported_methods"]["chat"] is True
    assert [m.id for m in client(server).models.list().data] == ["echo"]
    r = requests.post(server.url + "/chat/completions/", json={"messages": [{"role": "user", "content": "x"}]})
    assert r.json()["choices"][0]["message"]["content"] == "echo: x"
    r = requests.post(server.url + "/predict/", data="promptText\nhi\n", headers={"Content-Type": "text/csv"})
    assert r.json()["predictions"] == ["echo: hi"]


def test_chat_from_python(tmp_path):
    folder = write_folder(tmp_path, "chat", CHAT)
    model = drumnb.load_model(folder, "textgeneration")
    out = model.chat({"messages": [{"role": "user", "content": "py"}]})
    assert out.choices[0].message.content == "echo: py"
    assert model.predict(pd.DataFrame({"promptText": ["a"]}))["Predictions"].tolist() == ["echo: a"]


def test_answers_as_drum_sends_them_no_nulls_and_the_association_id(server):
    ask = {"model": "echo", "messages": [{"role": "user", "content": "hi"}]}
    r = requests.post(server.url + "/chat/completions", json={**ask, "datarobot_association_id": "assoc-1"},
                      timeout=30)
    assert r.status_code == 200 and r.content.endswith(b"}\n")
    body = r.json()
    assert body["datarobot_association_id"] == "assoc-1"
    assert "usage" not in body and "system_fingerprint" not in body  # unset fields are left out, not null
    assert "null" not in r.text
    made_up = requests.post(server.url + "/v1/chat/completions", json=ask, timeout=30).json()
    assert len(made_up["datarobot_association_id"]) == 36  # a new uuid when the request has none
    for bad in (b"{not json", b"[1]"):
        r = requests.post(server.url + "/chat/completions", data=bad, headers={"Content-Type": "application/json"},
                          timeout=30)
        assert r.status_code == 400, r.text
    stream = requests.post(server.url + "/chat/completions", timeout=30,
                           json={**ask, "stream": True, "datarobot_association_id": "a-2"})
    chunks = [json.loads(e[len("data: "):]) for e in stream.text.split("\n\n") if e and e != "data: [DONE]"]
    assert chunks and all(c["datarobot_association_id"] == "a-2" for c in chunks)
    models = requests.get(server.url + "/models", timeout=30)
    assert models.status_code == 200 and models.json()["data"][0]["object"] == "model"

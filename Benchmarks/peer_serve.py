#!/usr/bin/env python3
"""The server a Python user would write instead of `hub serve`: sentence-transformers behind FastAPI on uvicorn, one
worker process, torch on 2 threads (the same budget). Answers TEI's `POST /embed` ({"inputs": str | [str]}) with the
normalised embeddings. Usage: peer_serve.py MODEL_FOLDER PORT; prints `listening<TAB>PORT` once it accepts requests."""
import contextlib
import sys

import torch
import uvicorn
from fastapi import FastAPI
from pydantic import BaseModel
from sentence_transformers import SentenceTransformer

torch.set_num_threads(2)
model = SentenceTransformer(sys.argv[1], device="cpu")


@contextlib.asynccontextmanager
async def lifespan(_):
    print(f"listening\t{sys.argv[2]}", flush=True)
    yield


app = FastAPI(lifespan=lifespan)


class EmbedRequest(BaseModel):
    inputs: str | list[str]


@app.post("/embed")
def embed(request: EmbedRequest):
    texts = [request.inputs] if isinstance(request.inputs, str) else request.inputs
    return model.encode(texts, normalize_embeddings=True, batch_size=64).tolist()


uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[2]), log_level="warning", access_log=False)

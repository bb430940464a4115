"""The framework people would pick instead: FastAPI behind Mangum (run in .venv-bench-ref)."""

from fastapi import FastAPI
from mangum import Mangum

api = FastAPI()


@api.get("/files/{file_id}")
def read_file(file_id: str) -> dict[str, str]:
    return {"hello": file_id}


handler = Mangum(api, lifespan="off")

"""A Chalice hello world with the same route shape as GET /files/{file_id}."""

from chalice.app import Chalice

app = Chalice(app_name="hello")


@app.route("/files/{file_id}", methods=["GET"])
def read_file(file_id: str) -> dict[str, str]:
    return {"hello": file_id}

"""A person using the HTTP API in tests: their inbox, one task by element id, a completion, any call."""

from __future__ import annotations

from typing import Any

from tests import factories as f


class ApiUser:
    def __init__(self, client: Any, session: Any, email: str) -> None:
        self.client, self.email, self.headers = client, email, f.token(session, email)

    def tasks(self) -> list[dict[str, Any]]:
        r = self.client.get("/api/tasks", headers=self.headers)
        assert r.status_code == 200, r.text
        return r.json()["items"]

    def task(self, name: str, subject: str | None = None) -> dict[str, Any]:
        """The open task `name` (about `subject`, when the person has one per review)."""
        mine = [
            t for t in self.tasks() if t["name"] == name and (subject is None or t["subject"]["email"] == subject)
        ]
        assert len(mine) == 1, (self.email, name, [t["name"] for t in self.tasks()])
        r = self.client.get(f"/api/tasks/{mine[0]['id']}", headers=self.headers)
        assert r.status_code == 200, r.text
        return r.json()

    def complete(
        self, name: str, data: dict[str, Any], subject: str | None = None, *, status: int = 200
    ) -> dict[str, Any]:
        task = self.task(name, subject)
        r = self.client.post(f"/api/tasks/{task['id']}/complete", headers=self.headers, json={"data": data})
        assert r.status_code == status, (name, r.text)
        return task

    def post(self, path: str, body: Any) -> Any:
        return self.client.post(path, headers=self.headers, json=body)

    def get(self, task_id: int) -> int:
        """The status code of reading task `task_id`."""
        return self.client.get(f"/api/tasks/{task_id}", headers=self.headers).status_code

"""An asyncio app: concurrent transcriptions with a TaskGroup, a group call, and cancellation.

Everything runs on one event loop with ``AsyncTranscriber``: no thread per job. The script starts
the local server with its ``fixed`` engine, which answers every recording with the same text at
once (this example is about asyncio, not recognition), so it needs no account and no network::

    python examples/asyncio_app.py

It shows three things:

1. ``asyncio.TaskGroup``: several transcriptions at once; if one fails, the others are cancelled.
2. ``transcribe_group``: many inputs, bounded concurrency, failures collected instead of raised.
3. Cancellation: ``asyncio.timeout`` cancels a wait. The job keeps running on the server, so its
   id (taken from a ``progress=`` event) is enough to pick the result up later.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import speechkit

AUDIO = Path(__file__).resolve().parent / "audio"
TEXT = "I would like a cup of coffee with a little sugar."


async def transcribe_together(transcriber: speechkit.AsyncTranscriber) -> None:
    # The same recording given three ways: a path, bytes, and an open binary file.
    path = AUDIO / "two_turns.wav"
    with path.open("rb") as file:
        inputs = {"path": path, "bytes": path.read_bytes(), "file object": file}
        async with asyncio.TaskGroup() as tasks:
            jobs = {
                kind: tasks.create_task(transcriber.transcribe(audio))
                for kind, audio in inputs.items()
            }
    print("1. TaskGroup:")
    for kind, job in jobs.items():
        print(f"   {kind}: {job.result().text}")


async def transcribe_many(transcriber: speechkit.AsyncTranscriber) -> None:
    inputs: list[Path | bytes] = [AUDIO / "two_turns.wav", b"not audio at all"]
    group = await transcriber.transcribe_group(inputs, max_concurrency=4, return_failures=True)
    print(f"2. Group: {len(group.transcripts)} transcribed, {len(group.failures)} failed")
    for failure in group.failures:
        print(f"   input #{failure.index} failed: {failure.error}")


async def cancel_and_resume(
    transcriber: speechkit.AsyncTranscriber, server: speechkit.LocalServer
) -> None:
    server.faults.processing_delay = 1.0  # make the next job slow
    job_ids: list[str] = []

    def remember_id(event: speechkit.TranscriptionProgress) -> None:
        if event.stage == "submitted" and event.transcript_id:
            job_ids.append(event.transcript_id)

    try:
        async with asyncio.timeout(0.3):
            await transcriber.transcribe(AUDIO / "two_turns.wav", progress=remember_id)
    except TimeoutError:
        print(f"3. Gave up waiting after 0.3 s; job {job_ids[0]} is still running on the server")
    server.faults.clear()
    transcript = await transcriber.wait_for_completion(job_ids[0])
    print(f"   ...and later it was {transcript.status}: {transcript.text}")


async def main() -> None:
    async with (
        speechkit.local_server(engine="fixed", engine_options={"text": TEXT}) as server,
        speechkit.AsyncTranscriber(api_key="local", base_url=server.base_url) as transcriber,
    ):
        await transcribe_together(transcriber)
        await transcribe_many(transcriber)
        await cancel_and_resume(transcriber, server)


if __name__ == "__main__":
    asyncio.run(main())

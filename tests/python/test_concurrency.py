"""The engine from several Python threads and from asyncio at once: the GIL is released while it works."""
import asyncio
import threading

from conftest import GREEDY, comparable_steps, golden


def expected(case, n):
    return case["greedy_ids"][:min(n, comparable_steps(case))]


def test_eight_threads_reproduce_the_goldens(pipe):
    cases = golden()
    results, errors = {}, []

    def worker(k):
        try:
            case = cases[k % len(cases)]
            r = pipe(case["prompt"], GREEDY, max_new_tokens=20)
            results[k] = r.token_ids[:len(expected(case, 20))] == expected(case, 20)
        except Exception as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    assert not errors and len(results) == 8 and all(results.values()), (errors, results)
    assert pipe.counters()["steps"] > 0


def test_asyncio_streams_reproduce_the_goldens(pipe):
    cases = golden()

    async def one(case):
        ids = []
        async for chunk in pipe.astream(case["prompt"], GREEDY, max_new_tokens=20):
            ids += chunk.token_ids
        return ids

    async def main():
        # A ticker shows the event loop keeps running while the engine works.
        ticks = 0

        async def ticker():
            nonlocal ticks
            while True:
                ticks += 1
                await asyncio.sleep(0.001)

        t = asyncio.create_task(ticker())
        outs = await asyncio.gather(*(one(c) for c in cases + cases[:3]))
        whole = await pipe.agenerate(cases[0]["prompt"], GREEDY, max_new_tokens=20)
        t.cancel()
        return outs, whole, ticks

    outs, whole, ticks = asyncio.run(main())
    for case, ids in zip(cases + cases[:3], outs):
        assert ids[:len(expected(case, 20))] == expected(case, 20)
    assert whole.token_ids == outs[0]
    assert ticks > 10


def test_a_cancelled_asyncio_task_cancels_its_request(pipe):
    async def main():
        async def long():
            async for _ in pipe.astream("In the beginning", GREEDY, max_new_tokens=2000):
                pass
        task = asyncio.create_task(long())
        await asyncio.sleep(0.3)
        task.cancel()
        try:
            await task
        except asyncio.CancelledError:
            pass

    asyncio.run(main())
    pipe.wait_idle()
    assert pipe.block_usage()["active"] == 0

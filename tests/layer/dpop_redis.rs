//! DPoP replay detection shared through a real Redis (feature `redis`): two replicas behind one
//! public URL, Redis restarted in the middle of a run, Redis down, Redis hung.

use std::time::{Duration, Instant};

use tokengate::{
    AuthErrorKind, DEFAULT_DPOP_IAT_WINDOW, DPOP_REPLAY_TTL_MARGIN, Dpop, JwtAuthLayer,
    RedisReplayStore,
};

use crate::dpop::{bound_token, client_key, dpop_challenge, serve, with_dpop};
use crate::redis_server::{RedisServer, free_port};
use crate::{Reply, Server, authorizer, send};

/// What both replicas answer as: the address clients call, whichever replica gets the call.
const PUBLIC: &str = "https://orders.example.com";

/// A replica: the layer with a Redis store at `url`.
async fn replica(url: &str) -> (Server, crate::Hits) {
    let store = RedisReplayStore::new(url)
        .expect("redis url")
        .timeout(Duration::from_millis(500));
    let dpop = Dpop::required()
        .public_url(PUBLIC)
        .expect("public url")
        .replay_store(store);
    serve(JwtAuthLayer::new(authorizer()).dpop(dpop)).await
}

/// `GET /me` on `server` with `proof`.
async fn call(server: &Server, token: &str, proof: &str) -> Reply {
    send(with_dpop(server.get("/me"), token, Some(proof))).await
}

#[tokio::test]
async fn two_replicas_sharing_redis_refuse_a_proof_replayed_on_the_other() {
    let Some(redis) = RedisServer::start("two_replicas_sharing_redis") else {
        return;
    };
    let (a, a_hits) = replica(&redis.url()).await;
    let (b, b_hits) = replica(&redis.url()).await;
    let key = client_key();
    let token = bound_token(key);
    let me = format!("{PUBLIC}/me");

    let proof = key.proof("GET", &me, &token);
    assert_eq!(call(&a, &token, &proof).await.status, 200);
    let replayed = call(&b, &token, &proof).await;
    assert_eq!(replayed.status, 401, "{replayed:?}");
    assert_eq!(
        replayed.www_authenticate(),
        Some(dpop_challenge(AuthErrorKind::DpopProofReplayed).as_str())
    );
    let other_way = key.proof("GET", &me, &token);
    assert_eq!(call(&b, &token, &other_way).await.status, 200);
    assert_eq!(call(&a, &token, &other_way).await.status, 401);
    assert_eq!((a_hits.count(), b_hits.count()), (1, 1));

    // One `SET … NX PX` per proof that reached the store (four), one key per proof (two),
    // each kept twice the window and the margin from its first use, whatever its `iat`.
    assert_eq!(
        redis
            .info_field("commandstats", "cmdstat_set")
            .as_deref()
            .map(|s| s.split(',').next()),
        Some(Some("calls=4"))
    );
    assert_eq!(redis.command(&["DBSIZE"]), ":2");
    let keys = redis.command(&["KEYS", "tokengate:dpop:*"]);
    assert!(keys.starts_with("*2"), "{keys}");
    let name = redis.raw_keys("tokengate:dpop:*");
    for name in name {
        let ttl: i64 = redis.command(&["PTTL", &name])[1..].parse().expect("pttl");
        let kept = 2 * DEFAULT_DPOP_IAT_WINDOW + DPOP_REPLAY_TTL_MARGIN;
        let kept = i64::try_from(kept.as_millis()).expect("ms");
        assert!((kept - 10_000..=kept).contains(&ttl), "{name}: {ttl} ms");
    }
}

#[tokio::test]
async fn replicas_with_their_own_memory_stores_would_accept_the_replay() {
    // The control for the test above: without a shared store, each replica sees only its own
    // proofs, so a proof used on one is taken again by the other.
    let dpop = || Dpop::required().public_url(PUBLIC).expect("public url");
    let (a, _) = serve(JwtAuthLayer::new(authorizer()).dpop(dpop())).await;
    let (b, _) = serve(JwtAuthLayer::new(authorizer()).dpop(dpop())).await;
    let key = client_key();
    let token = bound_token(key);
    let proof = key.proof("GET", &format!("{PUBLIC}/me"), &token);
    assert_eq!(call(&a, &token, &proof).await.status, 200);
    assert_eq!(call(&b, &token, &proof).await.status, 200);
}

#[tokio::test]
async fn redis_restarted_mid_run_gives_503s_then_recovers_without_restarting_the_service() {
    let Some(mut redis) = RedisServer::start("redis_restarted_mid_run") else {
        return;
    };
    let (a, _) = replica(&redis.url()).await;
    let (b, _) = replica(&redis.url()).await;
    let key = client_key();
    let token = bound_token(key);
    let me = format!("{PUBLIC}/me");
    let mut statuses = Vec::new();
    for i in 0..20 {
        let server = if i % 2 == 0 { &a } else { &b };
        statuses.push(
            call(server, &token, &key.proof("GET", &me, &token))
                .await
                .status,
        );
    }
    assert!(statuses.iter().all(|s| *s == 200), "before: {statuses:?}");

    redis.stop();
    let reply = call(&a, &token, &key.proof("GET", &me, &token)).await;
    assert_eq!(reply.status, 503, "{reply:?}");
    assert_eq!(reply.header("retry-after"), Some("1"));
    reply.assert_error_body(
        "temporarily_unavailable",
        AuthErrorKind::ReplayStoreUnavailable.description(),
    );
    redis.restart();

    // Both replicas reconnect by themselves; meanwhile nothing but 200 or 503.
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut back = [false, false];
    while !(back[0] && back[1]) {
        assert!(
            Instant::now() < deadline,
            "the replicas did not reconnect: {back:?}"
        );
        for (i, server) in [&a, &b].into_iter().enumerate() {
            let status = call(server, &token, &key.proof("GET", &me, &token))
                .await
                .status;
            assert!(status == 200 || status == 503, "{status}");
            back[i] |= status == 200;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // And replays are shared again.
    let proof = key.proof("GET", &me, &token);
    assert_eq!(call(&a, &token, &proof).await.status, 200);
    assert_eq!(call(&b, &token, &proof).await.status, 401);
}

#[tokio::test]
async fn redis_down_from_the_start_is_503_quickly() {
    // Nothing listens on this port: connections are refused at once.
    let url = format!("redis://127.0.0.1:{}/", free_port());
    let (server, hits) = replica(&url).await;
    let key = client_key();
    let token = bound_token(key);
    for _ in 0..3 {
        let started = Instant::now();
        let reply = call(
            &server,
            &token,
            &key.proof("GET", &format!("{PUBLIC}/me"), &token),
        )
        .await;
        assert_eq!(reply.status, 503, "{reply:?}");
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "{:?}",
            started.elapsed()
        );
    }
    assert_eq!(hits.count(), 0);
}

#[tokio::test]
async fn a_redis_that_never_answers_is_503_after_the_timeout() {
    // Accepts connections, never replies.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("redis://{}/", listener.local_addr().expect("addr"));
    let _held = std::thread::spawn(move || {
        let mut open = Vec::new();
        for stream in listener.incoming().take(8) {
            open.push(stream);
        }
        std::thread::sleep(Duration::from_secs(30));
    });
    let (server, hits) = replica(&url).await;
    let key = client_key();
    let token = bound_token(key);
    let started = Instant::now();
    let reply = call(
        &server,
        &token,
        &key.proof("GET", &format!("{PUBLIC}/me"), &token),
    )
    .await;
    assert_eq!(reply.status, 503, "{reply:?}");
    let took = started.elapsed();
    assert!(
        took >= Duration::from_millis(400) && took < Duration::from_secs(3),
        "bounded by the 500 ms timeout: {took:?}"
    );
    assert_eq!(hits.count(), 0);
}

#[tokio::test]
async fn a_full_redis_forgets_no_proof_under_noeviction_and_forgets_them_under_lru() {
    // Every key has a TTL, so the `volatile-*` policies (managed Redis services' usual
    // default) evict them as readily as the `allkeys-*` ones.
    let Some(redis) = RedisServer::start("full_redis") else {
        return;
    };
    let (server, hits) = replica(&redis.url()).await;
    let key = client_key();
    let token = bound_token(key);
    let me = format!("{PUBLIC}/me");
    let config = |name: &str, value: &str| {
        assert_eq!(redis.command(&["CONFIG", "SET", name, value]), "+OK");
    };
    for (policy, replay_after) in [
        ("noeviction", 401),
        ("allkeys-lru", 200),
        ("volatile-lru", 200),
    ] {
        config("maxmemory-policy", policy);
        let used = key.proof("GET", &me, &token);
        assert_eq!(call(&server, &token, &used).await.status, 200, "{policy}");
        // Full: a proof that cannot be recorded is refused, never taken unrecorded.
        config("maxmemory", "1");
        let reply = call(&server, &token, &key.proof("GET", &me, &token)).await;
        assert_eq!(reply.status, 503, "{policy}: {reply:?}");
        reply.assert_error_body(
            "temporarily_unavailable",
            AuthErrorKind::ReplayStoreUnavailable.description(),
        );
        config("maxmemory", "0");
        // Room again: under `noeviction` the used proof is still known; an evicting policy
        // dropped it, and the replay passes.
        let reply = call(&server, &token, &used).await;
        assert_eq!(reply.status, replay_after, "{policy}: {reply:?}");
    }
    assert_eq!(hits.count(), 5);
}

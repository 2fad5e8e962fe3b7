"""Public pages: two clocks per session, escaping, and no JavaScript needed."""

import re

from test_api_events import MEKONG


def viewer_times(html: str) -> list[str]:
    return [t.strip() for t in re.findall(r'class="viewer-time"[^>]*>([^<]*)<', html)]


def test_event_page_shows_event_zone_and_viewer_zone(client, auth):
    slug = client.post("/api/v1/events", json=MEKONG, headers=auth).json["slug"]
    html = client.get(f"/events/{slug}?tz=Asia/Bangkok").get_data(as_text=True)
    assert "Wed, 14 Jul 2027, 22:00–23:30 (New York, EDT)" in html
    assert viewer_times(html) == ["Thu, 15 Jul, 09:00–10:30 (Bangkok, +07)"]


def test_yangon_viewer_gets_half_hour_offset(client, auth):
    slug = client.post("/api/v1/events", json=MEKONG, headers=auth).json["slug"]
    html = client.get(f"/events/{slug}?tz=Asia/Yangon").get_data(as_text=True)
    assert viewer_times(html) == ["Thu, 15 Jul, 08:30–10:00 (Yangon, +06:30)"]


def test_without_tz_the_server_falls_back_to_utc_and_js_can_replace_it(client, auth):
    slug = client.post("/api/v1/events", json=MEKONG, headers=auth).json["slug"]
    for url in (f"/events/{slug}", f"/events/{slug}?tz=Nowhere/Atlantis"):
        html = client.get(url).get_data(as_text=True)
        assert viewer_times(html) == ["Thu, 15 Jul, 02:00–03:30 (UTC)"]
        assert 'data-utc-start="2027-07-15T02:00:00Z"' in html


def test_index_lists_upcoming_events(client, auth):
    client.post("/api/v1/events", json=MEKONG, headers=auth)
    html = client.get("/?tz=Asia/Phnom_Penh").get_data(as_text=True)
    assert "Sustainable Mekong River Delta" in html
    assert "Thu, 15 Jul, 09:00–10:30 (Phnom Penh, +07)" in html


def test_user_text_is_escaped(client, auth):
    payload = dict(MEKONG, title='<script>alert("x")</script> & "Mekong"',
                   description="<img src=x onerror=alert(1)>")
    slug = client.post("/api/v1/events", json=payload, headers=auth).json["slug"]
    html = client.get(f"/events/{slug}").get_data(as_text=True)
    assert "<script>alert" not in html and "<img src=x" not in html
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; &#34;Mekong&#34;" in html


def test_unknown_event_page_is_a_friendly_404(client):
    response = client.get("/events/does-not-exist")
    assert response.status_code == 404
    assert "Not found" in response.get_data(as_text=True)


def test_pages_load_nothing_from_other_sites(client, auth):
    slug = client.post("/api/v1/events", json=MEKONG, headers=auth).json["slug"]
    html = client.get(f"/events/{slug}").get_data(as_text=True)
    # Links to calendar services are fine; scripts, styles and images are not.
    assert not re.search(r'src="(https?:)?//', html)
    assert not re.search(r'<link[^>]+href="(https?:)?//', html)


def test_unknown_manage_link_says_so(client):
    for url in ("/registrations/" + "x" * 32, "/registrations/" + "x" * 32 + ".ics",
                "/registrations/" + "x" * 300):
        response = client.get(url)
        assert response.status_code == 404, url
        if not url.endswith(".ics"):
            assert "No registration with this link" in response.get_data(as_text=True)

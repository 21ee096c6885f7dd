def test_smoke(edge):
    e = edge()
    v = e.visitor()
    d = v.view()
    print(v.last_page)
    print(d)
    print(e.decisions(v.id))

/* The test storefront's router: links with data-route are followed with history.pushState; a route's content
   is fetched as JSON and rendered RENDER_MS later (a slow API), replacing the previous route's; the back and
   forward buttons render the route again. Once a route is shown the router replaces its entry with the same
   URL (its state updated, as routers that keep scroll positions do): no new page. ?variant= is picked with
   history.replaceState, as Shopify's themes do: the same page. After spa.skeleton(ms), a route shows a loading
   skeleton at once (the previous route's content and JSON-LD gone) and its content ms later, as storefronts with
   placeholders do. window.spa lets a test drive it. */
(function () {
  'use strict';
  var RENDER_MS = 200, app = document.getElementById('app'), shown = 0, skeleton = 0;
  window.dataLayer = window.dataLayer || [];
  function route(path) {
    var m = /^\/spa\/p\/([a-z0-9-]+)$/.exec(path);
    return m ? m[1] : 'home';
  }
  function render() {
    var path = location.pathname, n = ++shown;
    app.setAttribute('aria-busy', 'true');
    if (skeleton) {
      unld();
      app.innerHTML = '<div class="skeleton"><div class="bar"></div><div class="bar"></div></div>';
    }
    fetch('/spa/api/' + route(path) + '.json').then(function (r) { return r.json(); }).then(function (data) {
      setTimeout(function () {
        if (n !== shown) return; // a newer route is on its way
        document.title = data.title;
        unld();
        if (data.ld) {
          var s = document.createElement('script');
          s.type = 'application/ld+json'; s.id = 'route-ld'; s.textContent = JSON.stringify(data.ld);
          document.head.appendChild(s);
        }
        app.innerHTML = data.html;
        app.removeAttribute('aria-busy');
        if (data.ld) window.dataLayer.push({ event: 'view_item', ecommerce: { items: [{ item_id: data.ld.sku }] } });
        history.replaceState(Object.assign({}, history.state, { shown: n }), '', location.href); // the same URL again
        window.rendered = path;
      }, skeleton || RENDER_MS);
    });
  }
  function unld() { // the previous route's JSON-LD out
    var old = document.getElementById('route-ld');
    if (old) old.remove();
  }
  function go(href) {
    history.pushState({ route: href }, '', href);
    render();
  }
  document.addEventListener('click', function (e) {
    var a = e.target.closest && e.target.closest('a[data-route]');
    if (!a) return;
    e.preventDefault();
    go(a.getAttribute('href'));
  });
  window.addEventListener('popstate', render);
  window.spa = {
    go: go,
    skeleton: function (ms) { skeleton = ms; },
    variant: function (v) { history.replaceState(history.state, '', location.pathname + '?variant=' + v); },
    addToCart: function (sku) {
      window.dataLayer.push({ event: 'add_to_cart', ecommerce: { items: [{ item_id: sku, quantity: 1, price: 10 }] } });
    }
  };
  history.replaceState({ route: location.pathname }, '', location.href); // the router's own entry: the same page
  render();
})();

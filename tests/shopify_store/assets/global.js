// Dawn's assets/global.js and pubsub.js, trimmed to what the fixture's pages use.
let subscribers = {};
function subscribe(eventName, callback) {
  if (subscribers[eventName] === undefined) subscribers[eventName] = [];
  subscribers[eventName] = [...subscribers[eventName], callback];
  return function unsubscribe() { subscribers[eventName] = subscribers[eventName].filter((cb) => cb !== callback); };
}
function publish(eventName, data) {
  if (subscribers[eventName]) return Promise.all(subscribers[eventName].map((callback) => callback(data)));
  return Promise.resolve();
}
function fetchConfig(type = 'json') {
  return { method: 'POST', headers: { 'Content-Type': 'application/json', Accept: `application/${type}` } };
}

// Dawn's VariantSelects: a changed option selects the variant. Dawn then fetches the section for the new
// variant (?variant=ID&section_id=...) and swaps the price, the buttons and the hidden id; the fixture
// takes the variant from the product's variants JSON and sets the same things in place.
if (!customElements.get('variant-selects')) {
  customElements.define('variant-selects', class VariantSelects extends HTMLElement {
    connectedCallback() {
      this.addEventListener('change', (event) => this.onVariantChange(event));
    }
    onVariantChange(event) {
      const section = this.dataset.section;
      const picked = Array.from(this.querySelectorAll('fieldset'), (f) => f.querySelector('input[type="radio"]:checked'));
      const all = JSON.parse(document.getElementById(`ProductVariants-${section}`).textContent);
      const variant = all.find((v) => picked.every((p, i) => p && v[`option${i + 1}`] === p.value));
      publish(PUB_SUB_EVENTS.optionValueSelectionChange, { data: { event, target: event.target, selectedOptionValues: picked.map((p) => p && p.value) } });
      if (!variant) return;
      this.querySelector('script[data-selected-variant]').textContent = JSON.stringify(variant);
      const form = document.getElementById(`product-form-${section}`);
      const input = form.querySelector('input[name="id"]');
      input.value = variant.id;
      input.disabled = !variant.available;
      const button = document.getElementById(`ProductSubmitButton-${section}`);
      button.disabled = !variant.available;
      button.querySelector('span').textContent = variant.available ? 'Add to cart' : 'Sold out';
      const url = new URL(window.location.href);
      url.searchParams.set('variant', variant.id);
      window.history.replaceState({}, '', url.toString());
      publish(PUB_SUB_EVENTS.variantChange, { data: { sectionId: section, variant } });
    }
  });
}

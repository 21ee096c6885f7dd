"""The user agent the tests' visitors send: a desktop Chrome, which the proxy personalizes (bots and
headless browsers it rightly leaves alone, ``slotwise.proxy.personalization.bots``)."""

DESKTOP_UA = ("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
              "Chrome/140.0.0.0 Safari/537.36")

// Shows any script error on the page (and in data-script-errors, which the browser test
// reads), so a broken gallery never looks like an empty one.
(function () {
  'use strict';
  var count = 0;
  function show(message) {
    count += 1;
    document.body.setAttribute('data-script-errors', String(count));
    var box = document.getElementById('script-errors');
    if (!box) { return; }
    var line = document.createElement('p');
    line.textContent = 'Script error: ' + message;
    box.appendChild(line);
    box.hidden = false;
  }
  window.addEventListener('error', function (event) {
    show((event.message || 'unknown error') + (event.filename ? ' (' + event.filename + ':' + event.lineno + ')' : ''));
  });
  window.addEventListener('unhandledrejection', function (event) { show(String(event.reason)); });
})();

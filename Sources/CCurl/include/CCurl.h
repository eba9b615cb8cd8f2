// Typed wrappers around libcurl's variadic calls, which Swift cannot call directly.
#ifndef MODELHUB_CCURL_H
#define MODELHUB_CCURL_H
#include <curl/curl.h>

CURLcode mh_curl_setopt_long(CURL *handle, CURLoption option, long value);
CURLcode mh_curl_setopt_off(CURL *handle, CURLoption option, curl_off_t value);
CURLcode mh_curl_setopt_pointer(CURL *handle, CURLoption option, void *value);
CURLcode mh_curl_setopt_string(CURL *handle, CURLoption option, const char *value);
CURLcode mh_curl_setopt_write(CURL *handle, curl_write_callback callback);
CURLcode mh_curl_setopt_header(CURL *handle, curl_write_callback callback);
CURLcode mh_curl_setopt_xferinfo(CURL *handle, curl_xferinfo_callback callback);
CURLcode mh_curl_getinfo_long(CURL *handle, CURLINFO info, long *value);
CURLcode mh_curl_getinfo_off(CURL *handle, CURLINFO info, curl_off_t *value);
CURLcode mh_curl_getinfo_string(CURL *handle, CURLINFO info, char **value);

#endif
